"""shows' side of catalog.hooks: cart show prices, fresh cards, and the link redirect's URL."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from catalog.hooks import CartShowPrices
from shows import views as shows_views
from shows.catalog_hooks import product_cards_refresh
from shows.models import Show, ShowEvent, ShowMember
from shows.pricing import cart_show_prices
from shows.services import show_product_pin, show_product_unpin
from tests.factories import (
    ShowFactory,
    ShowMemberFactory,
    ShowProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def _pin(show, product):
    moderator = ShowMemberFactory(show=show, role=ShowMember.Role.MODERATOR).user
    return moderator, show_product_pin(show=show, product_id=product.pk, actor=moderator)


def test_cart_show_prices_names_the_shows_that_exist_and_the_prices_that_apply_now():
    cap, tee, mug = (VariantFactory().product for _ in range(3))
    live = ShowFactory(status=Show.Status.LIVE)
    ended = ShowFactory(status=Show.Status.ENDED)
    pinned_only = ShowFactory(status=Show.Status.LIVE, show_price_while_pinned_only=True)
    for show in (live, ended, pinned_only):
        ShowProductFactory(show=show, product=cap, show_price=Decimal("15.00"))
        ShowProductFactory(show=show, product=tee, show_price=Decimal("25.00"))
    ShowProductFactory(show=live, product=mug, show_price=None)
    moderator, pin = _pin(pinned_only, cap)
    _pin(pinned_only, tee)
    show_product_unpin(show=pinned_only, pin_id=pin.pk, actor=moderator)
    gone = pinned_only.pk + 1000

    prices = cart_show_prices(
        lines=[
            (live.pk, cap.pk),
            (live.pk, mug.pk),
            (ended.pk, cap.pk),
            (pinned_only.pk, cap.pk),
            (pinned_only.pk, tee.pk),
            (gone, cap.pk),
        ]
    )

    assert prices == CartShowPrices(
        show_ids=frozenset({live.pk, ended.pk, pinned_only.pk}),
        prices={(live.pk, cap.pk): Decimal("15.00"), (pinned_only.pk, tee.pk): Decimal("25.00")},
    )


def test_cart_show_prices_of_no_lines_asks_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert cart_show_prices(lines=[]) == CartShowPrices(show_ids=frozenset(), prices={})


def test_product_cards_refresh_sends_cards_of_the_products_pinned_in_live_shows_only():
    pinned, unpinned, elsewhere = (VariantFactory().product for _ in range(3))
    shows = [ShowFactory(status=Show.Status.LIVE) for _ in range(2)]
    for show in shows:
        _pin(show, pinned)
    moderator, pin = _pin(shows[0], unpinned)
    show_product_unpin(show=shows[0], pin_id=pin.pk, actor=moderator)
    _pin(ShowFactory(status=Show.Status.LIVE), elsewhere)
    assert not ShowEvent.objects.filter(type="product.updated").exists()

    sent = product_cards_refresh(product_ids=[unpinned.pk, pinned.pk])

    assert sent == 2
    updates = ShowEvent.objects.filter(type="product.updated").order_by("show_id")
    assert [(event.show_id, event.data["product"]["id"]) for event in updates] == [
        (shows[0].pk, pinned.pk),
        (shows[1].pk, pinned.pk),
    ]


def test_product_cards_refresh_of_a_large_import_names_only_the_pinned_products_in_its_queries():
    product = VariantFactory().product
    show = ShowFactory(status=Show.Status.LIVE)
    _pin(show, product)
    # More ids than SQLite takes as parameters of one query in its default build (32766).
    many = [*range(10**9, 10**9 + 40_000), product.pk]

    with CaptureQueriesContext(connection) as queries:
        sent = product_cards_refresh(product_ids=many)

    assert sent == 1
    assert max(len(query["sql"]) for query in queries.captured_queries) < 20_000


def test_product_cards_refresh_of_no_products_asks_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert product_cards_refresh(product_ids=[]) == 0


def test_the_link_redirect_is_shows_view_under_its_old_url_and_name():
    assert reverse("shop-link", kwargs={"token": "abc.def"}) == "/shop/go/abc.def"
    assert resolve("/shop/go/abc.def").func is shows_views.cart_link_redirect

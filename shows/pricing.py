"""The show-price part of a cart's prices (installed as a catalog hook).

catalog prices a cart line at its variant's price; for a line credited to a show it asks here
whether that show's price for the product applies now, by the one rule
``shows.selectors.show_price_applies`` that the product card and the lineup use too.
"""

from collections.abc import Collection
from decimal import Decimal

from catalog.hooks import CartShowPrices
from shows.models import Show, ShowProduct
from shows.selectors import show_pins_open, show_price_applies


def cart_show_prices(*, lines: Collection[tuple[int, int]]) -> CartShowPrices:
    """The shows of ``lines`` (``(show_id, product_id)`` of credited cart lines) that exist,
    and the show price due now for each line where one applies.

    The show price applies while the show is live and, for shows that say so, while the
    product is pinned in that show now, by whichever pin: a product unpinned and pinned again
    has the show price again, whichever pin the line came from. Three queries, none for no
    lines.
    """
    show_ids = {show_id for show_id, _ in lines}
    if not show_ids:
        return CartShowPrices(show_ids=frozenset(), prices={})
    shows = Show.objects.in_bulk(show_ids)
    pinned_now = set(
        show_pins_open().filter(show_id__in=show_ids).values_list("show_id", "product_id")
    )
    show_prices = {
        (show_id, product_id): price
        for show_id, product_id, price in ShowProduct.objects.filter(
            show_id__in=show_ids, show_price__isnull=False
        ).values_list("show_id", "product_id", "show_price")
    }
    prices: dict[tuple[int, int], Decimal] = {}
    for key in lines:
        show = shows.get(key[0])
        show_price = show_prices.get(key)
        if (
            show is not None
            and show_price is not None
            and show_price_applies(show=show, is_pinned=key in pinned_now)
        ):
            prices[key] = show_price
    return CartShowPrices(show_ids=frozenset(shows), prices=prices)

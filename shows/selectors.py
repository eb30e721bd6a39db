import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from catalog.models import CartAddition, LinkClick, OrderLine, Product, ProductImage, Variant
from catalog.selectors import variant_stock_view
from liveshop.accounts.models import User
from liveshop.accounts.types import Viewer
from liveshop.common.links import public_url
from realtime.wire import iso_utc

# A module import: shows.access reads shows through this module (see there).
from shows import access as show_access
from shows.links import cart_link_build
from shows.models import Channel, Show, ShowMember, ShowPin, ShowProduct, ShowReminder
from shows.replays import show_has_visible_replay_q

# Shows that occupy their channel's slot: a cancelled show frees it.
SLOT_HOLDING_STATUSES = (
    Show.Status.DRAFT,
    Show.Status.SCHEDULED,
    Show.Status.LIVE,
    Show.Status.ENDED,
)


def show_overlapping_list(
    *, channel_id: int, start: dt.datetime, end: dt.datetime, exclude_show_id: int | None = None
) -> QuerySet[Show]:
    """Shows on the channel whose scheduled slot intersects [start, end).

    Touching slots (one ends when the next starts) do not overlap.
    """
    shows = Show.objects.filter(
        channel_id=channel_id,
        status__in=SLOT_HOLDING_STATUSES,
        scheduled_start__lt=end,
        scheduled_end__gt=start,
    )
    if exclude_show_id is not None:
        shows = shows.exclude(pk=exclude_show_id)
    return shows.order_by("scheduled_start")


# --- Viewer-facing reads: schedule, detail, calendar ---------------------------

# Statuses a viewer may ever see; drafts belong to the show's team until published.
PUBLISHED_STATUSES = (
    Show.Status.SCHEDULED,
    Show.Status.LIVE,
    Show.Status.ENDED,
    Show.Status.CANCELLED,
)
# How far back and ahead the channel calendar feed reaches.
CALENDAR_FEED_PAST = dt.timedelta(days=7)
CALENDAR_FEED_AHEAD = dt.timedelta(days=90)


def show_page_url(*, show: Show) -> str:
    """The absolute URL of the show's viewer page: where a notice's "watch" link goes."""
    return public_url(path=reverse("web-show", kwargs={"public_id": show.public_id}))


def show_annotate_viewer(*, shows: QuerySet[Show], user: Viewer) -> QuerySet[Show]:
    """Add ``is_reminded``, ``is_team_member`` and ``is_host_or_moderator`` for ``user``.

    Subqueries rather than joins, so the annotations never multiply rows and
    cost the same single query for one show or a hundred.
    """
    if not user.is_authenticated:
        return shows.annotate(
            is_reminded=Value(False),
            is_team_member=Value(False),
            is_host_or_moderator=Value(False),
        )
    members = ShowMember.objects.filter(show=OuterRef("pk"))
    return shows.annotate(
        is_reminded=Exists(ShowReminder.objects.filter(show=OuterRef("pk"), user=user)),
        is_team_member=Exists(members.filter(show_access.member_q(user=user))),
        is_host_or_moderator=Exists(
            members.filter(show_access.member_q(user=user, roles=show_access.MODERATOR_ROLES))
        ),
    )


def show_annotate_lineup_count(*, shows: QuerySet[Show]) -> QuerySet[Show]:
    counts = (
        ShowProduct.objects.filter(show=OuterRef("pk"))
        .order_by()
        .values("show")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return shows.annotate(lineup_count=Coalesce(Subquery(counts), 0))


def show_listed_list(*, user: User) -> QuerySet[Show]:
    """Shows ``user`` may see in listings: published, never private.

    Test shows are listed only for their team and merchandisers.
    """
    shows = Show.objects.filter(status__in=PUBLISHED_STATUSES, is_private=False)
    if user.is_authenticated and user.is_merchandiser:
        return shows
    if user.is_authenticated:
        return shows.filter(
            Q(is_test=False) | Exists(ShowMember.objects.filter(show=OuterRef("pk"), user=user))
        )
    return shows.filter(is_test=False)


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.order_by("name", "pk")


def channel_get(*, slug: str) -> Channel | None:
    return Channel.objects.filter(slug=slug).first()


@dataclass(frozen=True)
class ChannelSchedule:
    server_time: dt.datetime
    channel: Channel
    live: list[Show]
    upcoming: list[Show]
    cancelled: list[Show]
    replays: list[Show]


def channel_schedule_get(
    *,
    channel: Channel,
    user: User,
    days: int = 7,
    replays_limit: int = 20,
    now: dt.datetime | None = None,
) -> ChannelSchedule:
    """What a channel shows now, in the next ``days`` days and as replays.

    Upcoming holds scheduled shows starting within the window (and a late one
    whose slot is not over yet, so it does not vanish before it goes live).
    Cancelled shows whose slot is not over yet are kept visible in their own
    list, never among the shows to look forward to. Replays are ended shows
    that allow one and have a recording that plays (video's rule, installed in
    ``shows.replays``), newest first; an ended show without one is no replay.
    Two queries whatever the number of shows.
    """
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=days)
    shows = show_annotate_lineup_count(
        shows=show_annotate_viewer(
            shows=show_listed_list(user=user).filter(channel=channel), user=user
        )
    )
    current = list(
        shows.filter(
            Q(status=Show.Status.LIVE)
            | Q(
                status__in=(Show.Status.SCHEDULED, Show.Status.CANCELLED),
                scheduled_end__gt=now,
                scheduled_start__lt=horizon,
            )
        ).order_by("scheduled_start", "pk")
    )
    replays = list(
        shows.filter(show_has_visible_replay_q()).order_by(
            F("actual_end").desc(nulls_last=True), "-scheduled_start", "-pk"
        )[:replays_limit]
    )
    by_status: dict[str, list[Show]] = {status: [] for status in Show.Status.values}
    for show in current:
        by_status[show.status].append(show)
    return ChannelSchedule(
        server_time=now,
        channel=channel,
        live=by_status[Show.Status.LIVE],
        upcoming=by_status[Show.Status.SCHEDULED],
        cancelled=by_status[Show.Status.CANCELLED],
        replays=replays,
    )


def show_viewer_get(*, public_id: str, user: Viewer) -> Show | None:
    """The show at ``public_id`` with its channel and ``user``'s relation to it, or None.

    No visibility check: ``shows.access`` decides who may see the result.
    """
    return (
        show_annotate_viewer(shows=Show.objects.select_related("channel"), user=user)
        .filter(public_id=public_id)
        .first()
    )


def show_status_payload(show: Show) -> dict:
    """The status part of ``show.status`` events and of the snapshot's ``show``."""
    return {
        "status": show.status,
        "started_at": iso_utc(show.actual_start),
        "ended_at": iso_utc(show.actual_end),
    }


def show_pins_open() -> QuerySet[ShowPin]:
    """Pins not yet unpinned: what "pinned now" means wherever a price depends on it."""
    return ShowPin.objects.filter(unpinned_at__isnull=True)


def pins_open_live(
    *, product_ids: list[int] | None = None, show_id: int | None = None
) -> QuerySet[ShowPin]:
    """Open pins of live shows, of ``product_ids`` and/or of ``show_id`` if given: the
    cards viewers are watching now, which product and stock changes must reach."""
    pins = show_pins_open().filter(show__status=Show.Status.LIVE)
    if product_ids is not None:
        pins = pins.filter(product_id__in=product_ids)
    if show_id is not None:
        pins = pins.filter(show_id=show_id)
    return pins


def show_lineup_list(*, show: Show) -> QuerySet[ShowProduct]:
    """The lineup in order, each with its first image, price range and whether it is
    pinned now (``is_pinned``, by any open pin), in one query."""
    variants = Variant.objects.filter(product=OuterRef("product")).order_by().values("product")
    return (
        ShowProduct.objects.filter(show=show)
        .select_related("product__storefront")
        .annotate(
            is_pinned=Exists(
                show_pins_open().filter(show=OuterRef("show"), product=OuterRef("product"))
            ),
            first_image_url=Subquery(
                ProductImage.objects.filter(product=OuterRef("product"))
                .order_by("position", "pk")
                .values("url")[:1]
            ),
            price_min=Subquery(variants.annotate(low=Min("price")).values("low")),
            price_max=Subquery(variants.annotate(high=Max("price")).values("high")),
        )
        .order_by("position", "pk")
    )


def show_team_list(*, show: Show) -> QuerySet[ShowMember]:
    return (
        ShowMember.objects.filter(show=show)
        .select_related("user")
        .order_by("role", "user__display_name", "pk")
    )


def show_detail_prefetch(*, show: Show) -> Show:
    """Attach ``lineup_items`` and ``team_members`` to ``show``: two queries, any lineup size.

    Each lineup item gets ``show_price_applies``: whether its show price is the
    price a cart charges now (``show_price_applies``, the cart's own rule).
    """
    prefetch_related_objects(
        [show],
        Prefetch("lineup", queryset=show_lineup_list(show=show), to_attr="lineup_items"),
        Prefetch("members", queryset=show_team_list(show=show), to_attr="team_members"),
    )
    for item in show.lineup_items:
        item.show_price_applies = item.show_price is not None and show_price_applies(
            show=show, is_pinned=item.is_pinned
        )
    return show


def show_starts_in_seconds(*, show: Show, now: dt.datetime) -> int:
    """Countdown to a scheduled show's start; 0 once it started or can no longer start."""
    if show.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED):
        return 0
    return max(0, int((show.scheduled_start - now).total_seconds()))


def show_price_applies(*, show: Show, is_pinned: bool) -> bool:
    """Whether a product's show price is its price now: the one rule for carts and cards.

    Show prices apply only while the show is live; a show with
    ``show_price_while_pinned_only`` narrows that to while the product is
    pinned (``is_pinned``: by any open pin of the show, ``show_pins_open``).
    """
    if show.status != Show.Status.LIVE:
        return False
    return is_pinned or not show.show_price_while_pinned_only


def channel_calendar_show_list(
    *, channel: Channel, now: dt.datetime | None = None
) -> QuerySet[Show]:
    """Shows in a channel's public calendar feed: never private, test or draft shows."""
    now = now or timezone.now()
    return Show.objects.filter(
        channel=channel,
        status__in=PUBLISHED_STATUSES,
        is_private=False,
        is_test=False,
        scheduled_end__gt=now - CALENDAR_FEED_PAST,
        scheduled_start__lt=now + CALENDAR_FEED_AHEAD,
    ).order_by("scheduled_start", "pk")


def show_schedule_list(*, channel_id: int, start: dt.datetime, end: dt.datetime) -> QuerySet[Show]:
    """Every show on the channel whose slot intersects [start, end), in time order.

    Unlike ``show_overlapping_list`` this keeps cancelled, test and private
    shows: the schedule is the merchandiser's view of the channel, and a
    cancelled show stays visible there.
    """
    return Show.objects.filter(
        channel_id=channel_id, scheduled_start__lt=end, scheduled_end__gt=start
    ).order_by("scheduled_start", "pk")


# --- Pins and product cards ------------------------------------------------------


def _seconds(offset_ms: int | None) -> float | None:
    return None if offset_ms is None else offset_ms / 1000


def _pin_products_prefetch() -> list[Prefetch]:
    return [
        Prefetch("product__variants", queryset=Variant.objects.order_by("position", "pk")),
        Prefetch("product__images", queryset=ProductImage.objects.order_by("position", "pk")),
    ]


def product_card(
    *, show: Show, pin: ShowPin, product: Product, show_price: Decimal | None, now: float | None
) -> dict:
    """The product card of a pin: everything a client draws, in one object.

    ``product`` must come with its storefront, variants and images loaded.
    Links are signed for this show and pin; the card holds nothing about
    the viewer, so one encoding serves every socket.
    """
    applies = show_price is not None and show_price_applies(show=show, is_pinned=True)
    threshold = product.storefront.low_stock_threshold
    images = list(product.images.all())
    variants = []
    for variant in product.variants.all():
        variants.append(
            {
                "id": variant.pk,
                "sku": variant.sku,
                "title": variant.title,
                "options": variant.options,
                "price": f"{variant.price:.2f}",
                "compare_at_price": (
                    None if variant.compare_at_price is None else f"{variant.compare_at_price:.2f}"
                ),
                "show_price": f"{show_price:.2f}" if applies else None,
                "currency": variant.currency,
                **variant_stock_view(
                    quantity=variant.stock_quantity, low_stock_threshold=threshold
                ),
                "add_to_cart_url": cart_link_build(
                    show_id=show.pk, pin_id=pin.pk, variant_id=variant.pk, now=now
                ),
            }
        )
    return {
        "id": product.pk,
        "handle": product.handle,
        "title": product.title,
        "description": product.description,
        "image": ({"url": images[0].url, "alt_text": images[0].alt_text} if images else None),
        "storefront": product.storefront.slug,
        "variants": variants,
    }


def pin_payload(
    *, show: Show, pin: ShowPin, show_price: Decimal | None, now: float | None = None
) -> dict:
    """The pin object of the protocol (docs/protocol.md, 3.3) with its product card."""
    return {
        "id": pin.pk,
        "pinned_at": iso_utc(pin.pinned_at),
        "unpinned_at": iso_utc(pin.unpinned_at),
        "start_offset": _seconds(pin.start_offset_ms),
        "end_offset": _seconds(pin.end_offset_ms),
        "product": product_card(
            show=show, pin=pin, product=pin.product, show_price=show_price, now=now
        ),
    }


def _pins_payload(*, show: Show, pins: QuerySet[ShowPin]) -> list[dict]:
    pins = list(
        pins.select_related("product__storefront").prefetch_related(*_pin_products_prefetch())
    )
    if not pins:
        return []
    prices = dict(
        ShowProduct.objects.filter(
            show=show, product_id__in=[pin.product_id for pin in pins]
        ).values_list("product_id", "show_price")
    )
    return [pin_payload(show=show, pin=pin, show_price=prices.get(pin.product_id)) for pin in pins]


def show_pins_open_payload(*, show: Show) -> list[dict]:
    """The show's open pins as pin objects, oldest first, for the snapshot.

    Four queries whatever the number of pins and variants.
    """
    return _pins_payload(
        show=show,
        pins=show_pins_open().filter(show=show).order_by("pinned_at", "pk"),
    )


def show_pin_timeline(*, show: Show) -> list[dict]:
    """Every pin of the show as pin objects by start offset: the replay timeline.

    Cards carry fresh links, and show prices only while the show is live.
    Four queries whatever the number of pins and variants.
    """
    return _pins_payload(
        show=show, pins=ShowPin.objects.filter(show=show).order_by("start_offset_ms", "pk")
    )


def show_pin_payload_get(*, show: Show, pin_id: int) -> dict:
    """One pin object, loaded fresh (for events)."""
    pin = (
        ShowPin.objects.select_related("product__storefront")
        .prefetch_related(*_pin_products_prefetch())
        .get(pk=pin_id, show=show)
    )
    show_price = (
        ShowProduct.objects.filter(show=show, product_id=pin.product_id)
        .values_list("show_price", flat=True)
        .first()
    )
    return pin_payload(show=show, pin=pin, show_price=show_price)


# Shows whose pins anyone may look up: drafts, test and private shows never.
APPEARANCE_STATUSES = (Show.Status.LIVE, Show.Status.ENDED)


def product_appearance_list(*, product_id: int) -> QuerySet[ShowPin]:
    """Where a product was pinned: public live and ended shows, newest show first."""
    return (
        ShowPin.objects.filter(
            product_id=product_id,
            product__is_active=True,
            show__status__in=APPEARANCE_STATUSES,
            show__is_test=False,
            show__is_private=False,
        )
        .select_related("show__channel")
        .order_by("-show__actual_start", "start_offset_ms", "pk")
    )


# --- Attribution report ----------------------------------------------------------


def _conversion(orders: int, clickers: int) -> float | None:
    return None if clickers == 0 else round(orders / clickers, 4)


def show_attribution_report(*, show: Show) -> dict:
    """Clicks, unique clickers, add-to-carts, orders and revenue, per show and per pin.

    Each click, add-to-cart and order is a row stored once (orders are
    unique per shop order id), so counting rows counts each event once.
    Revenue is per currency. Conversion is orders / unique clickers. Seven
    queries whatever the number of pins and events.
    """
    clicks = LinkClick.objects.filter(show=show)
    adds = CartAddition.objects.filter(show=show)
    lines = OrderLine.objects.filter(show=show)
    line_total = Sum(F("unit_price") * F("quantity"))

    totals = {
        **clicks.aggregate(clicks=Count("pk"), unique_clickers=Count("viewer_key", distinct=True)),
        "add_to_carts": adds.count(),
        "orders": lines.aggregate(orders=Count("order_id", distinct=True))["orders"],
        "revenue": {},
    }
    for currency, revenue in lines.values_list("order__currency").annotate(revenue=line_total):
        totals["revenue"][currency] = f"{revenue:.2f}"

    per_pin: dict[int, dict] = {}

    def row(pin_id: int) -> dict:
        return per_pin.setdefault(
            pin_id,
            {"clicks": 0, "unique_clickers": 0, "add_to_carts": 0, "orders": 0, "revenue": {}},
        )

    for pin_id, count, unique in clicks.values_list("pin_id").annotate(
        Count("pk"), Count("viewer_key", distinct=True)
    ):
        row(pin_id).update(clicks=count, unique_clickers=unique)
    for pin_id, count in adds.filter(pin__isnull=False).values_list("pin_id").annotate(Count("pk")):
        row(pin_id)["add_to_carts"] = count
    for pin_id, count in (
        lines.filter(pin__isnull=False)
        .values_list("pin_id")
        .annotate(Count("order_id", distinct=True))
    ):
        row(pin_id)["orders"] = count
    for pin_id, currency, revenue in (
        lines.filter(pin__isnull=False)
        .values_list("pin_id", "order__currency")
        .annotate(revenue=line_total)
    ):
        row(pin_id)["revenue"][currency] = f"{revenue:.2f}"

    pins = []
    for pin in (
        ShowPin.objects.filter(show=show)
        .select_related("product")
        .order_by("start_offset_ms", "pk")
    ):
        counts = row(pin.pk)
        pins.append(
            {
                "pin_id": pin.pk,
                "product": {"id": pin.product_id, "title": pin.product.title},
                "start_offset": _seconds(pin.start_offset_ms),
                "end_offset": _seconds(pin.end_offset_ms),
                **counts,
                "conversion": _conversion(counts["orders"], counts["unique_clickers"]),
            }
        )
    totals["conversion"] = _conversion(totals["orders"], totals["unique_clickers"])
    return {"show": show.public_id, "totals": totals, "pins": pins}

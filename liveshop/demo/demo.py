"""Demo data for `make run`: accounts for every role, a shop and a week of shows.

Idempotent: everything is looked up by a stable key (username, slug, SKU)
before it is created, so running it twice creates nothing new.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import Product, ProductImage, Storefront, Variant
from consultations.models import Desk, DeskAdvisor, DeskHours, DeskTopic
from liveshop.accounts.models import User
from liveshop.accounts.services import user_create
from shows.models import Channel, Show, ShowMember
from shows.selectors import show_overlapping_list
from shows.services import (
    show_create,
    show_end,
    show_go_live,
    show_lineup_add,
    show_member_add,
    show_publish,
)
from shows.timezones import channel_zone

DEMO_PASSWORD = "liveshop-demo"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    display_name: str
    show_role: ShowMember.Role | None = None


DEMO_ACCOUNTS = (
    DemoAccount("viewer", User.Role.VIEWER, "Vera Viewer"),
    DemoAccount("host", User.Role.HOST, "Hana Host", ShowMember.Role.HOST),
    DemoAccount("moderator", User.Role.MODERATOR, "Mo Moderator", ShowMember.Role.MODERATOR),
    DemoAccount("staff", User.Role.SERVICE_STAFF, "Sam Service", ShowMember.Role.SERVICE_STAFF),
    DemoAccount("merchandiser", User.Role.MERCHANDISER, "Mia Merchandiser"),
    DemoAccount("admin", User.Role.ADMIN, "Ada Admin"),
)

DEMO_STOREFRONT_SLUG = "demo-shop"
DEMO_DESK_SLUG = "style-advice"
_DESK_TOPICS = (
    ("sizing", "Size and fit"),
    ("styling", "Styling advice"),
    ("delivery", "Delivery and returns"),
)
# Slugs of the shows the seed puts live now: live-<local start>[-n].
LIVE_SLUG_PREFIX = "live-"

_PRODUCTS = (
    ("linen-shirt", "Linen shirt", "39.90", ("S", "M", "L"), "colour", ("sand", "navy")),
    ("denim-jacket", "Denim jacket", "89.00", ("S", "M", "L", "XL"), None, ()),
    ("wool-scarf", "Wool scarf", "24.50", (), "colour", ("red", "grey", "green")),
    ("leather-sneaker", "Leather sneaker", "119.00", ("40", "41", "42", "43", "44"), None, ()),
    ("canvas-tote", "Canvas tote bag", "19.00", (), None, ()),
    ("silk-dress", "Silk dress", "149.00", ("XS", "S", "M", "L"), "colour", ("black", "emerald")),
    ("knit-beanie", "Knit beanie", "15.90", (), "colour", ("black", "mustard")),
    ("rain-coat", "Rain coat", "129.00", ("S", "M", "L"), None, ()),
)

_SHOW_TITLES = (
    "Autumn layers with Hana",
    "Sneaker drop live",
    "Cosy knits evening",
    "Weekend wardrobe clinic",
    "Dress up, dress down",
    "Rainy day essentials",
    "Style questions answered",
)


def _accounts_seed() -> dict[str, User]:
    users = {}
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(username=account.username).first()
        if user is None:
            user = user_create(
                username=account.username,
                password=DEMO_PASSWORD,
                role=account.role,
                email=f"{account.username}@liveshop.invalid",
                display_name=account.display_name,
            )
        users[account.username] = user
    return users


def _catalog_seed() -> list[Product]:
    storefront, _ = Storefront.objects.get_or_create(
        slug=DEMO_STOREFRONT_SLUG,
        defaults={"name": "Demo shop", "kind": Storefront.Kind.DEMO, "currency": "EUR"},
    )
    products = []
    for index, (handle, title, price, sizes, option_name, option_values) in enumerate(_PRODUCTS):
        product, created = Product.objects.get_or_create(
            storefront=storefront,
            handle=handle,
            defaults={"title": title, "description": f"{title} from the liveshop demo shop."},
        )
        products.append(product)
        if not created:
            continue
        ProductImage.objects.create(
            product=product, url=f"https://picsum.photos/seed/{handle}/600/800", alt_text=title
        )
        combinations = [
            {**({"size": size} if size else {}), **({option_name: value} if value else {})}
            for size in (sizes or (None,))
            for value in (option_values or (None,))
        ]
        for position, options in enumerate(combinations):
            suffix = "-".join(str(value).upper() for value in options.values()) or "ONE"
            Variant.objects.create(
                product=product,
                sku=f"DEMO-{index + 1:02d}-{suffix}",
                title=" / ".join(str(value) for value in options.values()) or "One size",
                options=options,
                external_id=f"{index + 1}{position:03d}",
                price=Decimal(price),
                compare_at_price=(Decimal(price) * Decimal("1.25")).quantize(Decimal("0.01")),
                currency="EUR",
                stock_quantity=3 if position == 0 else 25,
                position=position,
            )
    return products


def _show_seed(
    *,
    channel: Channel,
    title: str,
    slug: str,
    start: dt.datetime,
    duration: dt.timedelta,
    products: list[Product],
    users: dict[str, User],
) -> Show | None:
    existing = Show.objects.filter(channel=channel, slug=slug).first()
    if existing is not None:
        return existing
    try:
        show = show_create(
            channel=channel,
            title=title,
            slug=slug,
            description=f"{title}: live shopping on {channel.name}. Ask questions in the chat!",
            cover_image_url=f"https://picsum.photos/seed/{slug}/1280/720",
            scheduled_start=start,
            scheduled_end=start + duration,
            created_by=users["merchandiser"],
        )
    except ValidationError:
        return None  # the slot is taken, e.g. by a show the merchandiser moved
    for account in DEMO_ACCOUNTS:
        if account.show_role:
            show_member_add(show=show, user=users[account.username], role=account.show_role)
    for position, product in enumerate(products):
        show_price = None
        if position == 0:
            price = product.variants.order_by("position").values_list("price", flat=True).first()
            show_price = (price * Decimal("0.8")).quantize(Decimal("0.01")) if price else None
        show_lineup_add(show=show, product=product, show_price=show_price)
    return show_publish(show=show)


def _live_show_seed(
    *, channel: Channel, now: dt.datetime, products: list[Product], users: dict[str, User]
) -> Show | None:
    """The channel's live demo show: the one on air, else one put on air now.

    The demo show ends when its stream stops, and an ended show keeps its slot:
    an ended live demo show gives back the rest of its slot from its actual end,
    so every run of the seed has a live show to stream to. A scheduled show due
    within the stream start window goes live itself instead of a new one.
    """
    live = Show.objects.filter(channel=channel, status=Show.Status.LIVE).first()
    if live is not None:
        return live
    for ended in Show.objects.filter(
        channel=channel,
        slug__startswith=LIVE_SLUG_PREFIX,
        status=Show.Status.ENDED,
        scheduled_end__gt=now,
        actual_end__isnull=False,
    ):
        if ended.actual_end is None:  # excluded by the filter; narrows the type
            continue
        Show.objects.filter(pk=ended.pk).update(
            scheduled_end=max(ended.actual_end, ended.scheduled_start + dt.timedelta(minutes=1))
        )
    start = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    end = start + dt.timedelta(hours=1)
    due = now + dt.timedelta(minutes=settings.LIVESHOP_VIDEO_START_EARLY_MINUTES)
    for busy in show_overlapping_list(channel_id=channel.pk, start=start, end=end):
        if busy.status == Show.Status.SCHEDULED and busy.scheduled_start <= due:
            return show_go_live(show=busy)
        if busy.scheduled_end <= now:
            start = busy.scheduled_end
        elif busy.scheduled_start > now:
            end = min(end, busy.scheduled_start)
        else:
            return None  # a draft or an ended show still holds this very moment
    zone = channel_zone(channel)
    slug = f"{LIVE_SLUG_PREFIX}{timezone.localtime(start, zone):%Y-%m-%d-%H%M}"
    # Seeded again within the minute the last live demo show started: a new slug.
    taken = set(
        Show.objects.filter(channel=channel, slug__startswith=slug).values_list("slug", flat=True)
    )
    candidate, suffix = slug, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{slug}-{suffix}"
    show = _show_seed(
        channel=channel,
        title="Live now: the demo show",
        slug=candidate,
        start=start,
        duration=end - start,
        products=products,
        users=users,
    )
    if show is None or show.status != Show.Status.SCHEDULED:
        return None
    return show_go_live(show=show)


def _desk_seed(*, channel: Channel, storefront: Storefront, users: dict[str, User]) -> Desk:
    """The demo's advice desk: open around the clock, so a demo run finds it open now."""
    desk, created = Desk.objects.get_or_create(
        slug=DEMO_DESK_SLUG,
        defaults={
            "name": "Style advice",
            "storefront": storefront,
            "channel": channel,
            "timezone": channel.timezone,
            "greeting": "Hi, I'm here to help you find the right piece. What are you looking for?",
        },
    )
    if not created:
        return desk
    for position, (slug, label) in enumerate(_DESK_TOPICS):
        DeskTopic.objects.create(desk=desk, slug=slug, label=label, position=position)
    for weekday in DeskHours.Weekday.values:
        DeskHours.objects.create(desk=desk, weekday=weekday, opens=dt.time(0), closes=dt.time(0))
    DeskAdvisor.objects.create(desk=desk, user=users["staff"], capacity=3)
    DeskAdvisor.objects.create(
        desk=desk, user=users["merchandiser"], capacity=1, is_supervisor=True
    )
    return desk


@transaction.atomic
def demo_seed(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Create the demo accounts, catalog, channel and a week of shows.

    The channel is the one `LIVESHOP_DEMO_CHANNEL_SLUG` names (the viewer page `/`).

    One show is live now (if the channel has none live), two shows ended in
    the last two days, and two shows a day are scheduled for the next seven
    days. The ended shows have no recording (nothing was streamed), so they
    are no replays: a replay needs a recording that plays.
    """
    now = now or timezone.now()
    users = _accounts_seed()
    products = _catalog_seed()
    channel, _ = Channel.objects.get_or_create(
        slug=settings.LIVESHOP_DEMO_CHANNEL_SLUG,
        defaults={
            "name": "liveshop TV",
            "timezone": "Europe/Berlin",
            "description": "The demo channel: live fashion shows every day.",
        },
    )
    zone = channel_zone(channel)
    today = timezone.localtime(now, zone).date()
    hour = dt.timedelta(hours=1)

    for days_ago in (2, 1):
        day = today - dt.timedelta(days=days_ago)
        start = dt.datetime.combine(day, dt.time(19, 0), tzinfo=zone)
        show = _show_seed(
            channel=channel,
            title=_SHOW_TITLES[days_ago],
            slug=f"ended-{day:%Y-%m-%d}",
            start=start,
            duration=hour,
            products=products[days_ago : days_ago + 3],
            users=users,
        )
        if show is None or show.status != Show.Status.SCHEDULED:
            continue
        if Show.objects.filter(channel=channel, status=Show.Status.LIVE).exists():
            # Seeded again after midnight while the earlier run's demo show is still
            # live: the channel carries one live show, so this past one cannot go
            # live now. It is written as it would have ended.
            Show.objects.filter(pk=show.pk).update(
                status=Show.Status.ENDED, actual_start=start, actual_end=start + hour
            )
            continue
        show_go_live(show=show)
        Show.objects.filter(pk=show.pk).update(actual_start=start)
        show_end(show=show)
        Show.objects.filter(pk=show.pk).update(actual_end=start + hour)

    _live_show_seed(channel=channel, now=now, products=products[:4], users=users)
    _desk_seed(channel=channel, storefront=products[0].storefront, users=users)

    for day_offset in range(7):
        day = today + dt.timedelta(days=day_offset)
        for slot, local_time in enumerate((dt.time(11, 0), dt.time(19, 0))):
            start = dt.datetime.combine(day, local_time, tzinfo=zone)
            if start <= now + hour:
                continue
            title = _SHOW_TITLES[(day_offset * 2 + slot) % len(_SHOW_TITLES)]
            _show_seed(
                channel=channel,
                title=title,
                slug=f"show-{day:%Y-%m-%d}-{local_time:%H%M}",
                start=start,
                duration=hour,
                products=products[(day_offset + slot) % 5 : (day_offset + slot) % 5 + 4],
                users=users,
            )
    return {
        "accounts": User.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS]).count(),
        "products": Product.objects.filter(storefront__slug=DEMO_STOREFRONT_SLUG).count(),
        "shows": Show.objects.filter(channel=channel).count(),
        "desks": Desk.objects.filter(slug=DEMO_DESK_SLUG).count(),
    }

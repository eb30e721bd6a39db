import datetime as dt
from dataclasses import dataclass

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
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import ProductImage, Variant
from liveshop.accounts.models import User
from shows.models import Channel, Show, ShowMember, ShowProduct, ShowReminder

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


def show_annotate_viewer(*, shows: QuerySet[Show], user: User) -> QuerySet[Show]:
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
    members = ShowMember.objects.filter(show=OuterRef("pk"), user=user)
    return shows.annotate(
        is_reminded=Exists(ShowReminder.objects.filter(show=OuterRef("pk"), user=user)),
        is_team_member=Exists(members),
        is_host_or_moderator=Exists(
            members.filter(role__in=(ShowMember.Role.HOST, ShowMember.Role.MODERATOR))
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
    whose slot is not over yet, so it does not vanish before it goes live) and
    cancelled shows that would still have been ahead, kept visible with their
    status. Replays are ended shows that allow one, newest first. Two queries
    whatever the number of shows.
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
            | Q(status=Show.Status.SCHEDULED, scheduled_end__gt=now, scheduled_start__lt=horizon)
            | Q(status=Show.Status.CANCELLED, scheduled_start__gt=now, scheduled_start__lt=horizon)
        ).order_by("scheduled_start", "pk")
    )
    replays = list(
        shows.filter(status=Show.Status.ENDED, replay_allowed=True).order_by(
            F("actual_end").desc(nulls_last=True), "-scheduled_start", "-pk"
        )[:replays_limit]
    )
    return ChannelSchedule(
        server_time=now,
        channel=channel,
        live=[show for show in current if show.status == Show.Status.LIVE],
        upcoming=[show for show in current if show.status != Show.Status.LIVE],
        replays=replays,
    )


def show_viewer_get(*, public_id: str, user: User) -> Show | None:
    """The show at ``public_id`` with its channel and ``user``'s relation to it, or None.

    No visibility check: ``shows.access`` decides who may see the result.
    """
    return (
        show_annotate_viewer(shows=Show.objects.select_related("channel"), user=user)
        .filter(public_id=public_id)
        .first()
    )


def show_lineup_list(*, show: Show) -> QuerySet[ShowProduct]:
    """The lineup in order, each with its first image and price range in one query."""
    variants = Variant.objects.filter(product=OuterRef("product")).order_by().values("product")
    return (
        ShowProduct.objects.filter(show=show)
        .select_related("product__storefront")
        .annotate(
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
    """Attach ``lineup_items`` and ``team_members`` to ``show``: two queries, any lineup size."""
    prefetch_related_objects(
        [show],
        Prefetch("lineup", queryset=show_lineup_list(show=show), to_attr="lineup_items"),
        Prefetch("members", queryset=show_team_list(show=show), to_attr="team_members"),
    )
    return show


def show_starts_in_seconds(*, show: Show, now: dt.datetime) -> int:
    """Countdown to a scheduled show's start; 0 once it started or can no longer start."""
    if show.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED):
        return 0
    return max(0, int((show.scheduled_start - now).total_seconds()))


def show_price_applies(*, show: Show) -> bool:
    """Show prices apply only while the show is live."""
    return show.status == Show.Status.LIVE


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

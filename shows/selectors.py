import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet

from liveshop.accounts.models import User
from shows.models import Show, ShowMember, ShowReminder

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


def show_member_roles(*, show: Show, user: User) -> set[str]:
    """The roles ``user`` holds on ``show`` (empty for anonymous users)."""
    if not user.is_authenticated:
        return set()
    return set(ShowMember.objects.filter(show=show, user=user).values_list("role", flat=True))


def show_is_team_member(*, show: Show, user: User) -> bool:
    if not user.is_authenticated:
        return False
    return ShowMember.objects.filter(show=show, user=user).exists()


def show_visible_list(*, user: User) -> QuerySet[Show]:
    """Shows ``user`` may open: test shows only for their team and merchandisers.

    Private shows are included (their link works); listing selectors leave
    them out.
    """
    shows = Show.objects.all()
    if user.is_authenticated and user.is_merchandiser:
        return shows
    if user.is_authenticated:
        return shows.filter(Q(is_test=False) | Q(members__user=user)).distinct()
    return shows.filter(is_test=False)


def show_get_visible(*, public_id: str, user: User) -> Show | None:
    return (
        show_visible_list(user=user).select_related("channel").filter(public_id=public_id).first()
    )


def show_annotate_reminded(*, shows: QuerySet[Show], user: User) -> QuerySet[Show]:
    if not user.is_authenticated:
        return shows
    return shows.annotate(
        is_reminded=Exists(ShowReminder.objects.filter(show=OuterRef("pk"), user=user))
    )

"""Writes to shows: creation, scheduling and the status machine.

Every status change goes through ``show_transition`` so illegal moves are
refused in one place (a ``ShowTransitionError``, answered with 409).
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.models import Product, Variant
from catalog.selectors import variant_stock_view
from liveshop.accounts.models import User
from liveshop.common.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from liveshop.common.tasks import task_enqueue_on_commit
from liveshop.common.transactions import atomic_required
from shows import lifecycle
from shows.access import show_chat_role
from shows.events import show_event_append
from shows.lock_objects import channel_lock, show_lock
from shows.models import Channel, Show, ShowMember, ShowPin, ShowProduct, ShowReminder
from shows.selectors import (
    pins_open_live,
    show_overlapping_list,
    show_pin_payload_get,
    show_status_payload,
)
from shows.timezones import channel_zone, zone_named

ALLOWED_TRANSITIONS: dict[str, set[Show.Status]] = {
    Show.Status.DRAFT: {Show.Status.SCHEDULED, Show.Status.CANCELLED},
    Show.Status.SCHEDULED: {Show.Status.DRAFT, Show.Status.LIVE, Show.Status.CANCELLED},
    Show.Status.LIVE: {Show.Status.ENDED},
    Show.Status.ENDED: set(),
    Show.Status.CANCELLED: set(),
}


class ShowTransitionError(ConflictError):
    default_code = "invalid_transition"


def _status_phrase(status: str) -> str:
    label = Show.Status(status).label.lower()
    article = "An" if label[0] in "aeiou" else "A"
    return f"{article} {label}"


def show_schedule_validate(
    *, channel_id: int, start: dt.datetime, end: dt.datetime, exclude_show_id: int | None = None
) -> None:
    """Raise ``ValidationError`` if the slot is malformed or taken on the channel."""
    if end <= start:
        raise ValidationError({"scheduled_end": "The show must end after it starts."})
    clash = (
        show_overlapping_list(
            channel_id=channel_id, start=start, end=end, exclude_show_id=exclude_show_id
        )
        .select_related("channel")
        .first()
    )
    if clash is not None:
        zone = channel_zone(clash.channel)
        starts = timezone.localtime(clash.scheduled_start, zone)
        ends = timezone.localtime(clash.scheduled_end, zone)
        raise ValidationError(
            {
                "scheduled_start": (
                    f'This time overlaps "{clash.title}" ({starts:%Y-%m-%d %H:%M}–{ends:%H:%M} '
                    f"{zone.key}) on the same channel. Pick a time when the channel is free."
                )
            }
        )


def _unique_slug(*, channel_id: int, title: str, exclude_show_id: int | None = None) -> str:
    base = slugify(title)[:100] or "show"
    slug = base
    number = 2
    existing = Show.objects.filter(channel_id=channel_id)
    if exclude_show_id is not None:
        existing = existing.exclude(pk=exclude_show_id)
    while existing.filter(slug=slug).exists():
        slug = f"{base}-{number}"
        number += 1
    return slug


@transaction.atomic
def show_create(
    *,
    channel: Channel,
    title: str,
    scheduled_start: dt.datetime,
    scheduled_end: dt.datetime,
    created_by: User | None = None,
    slug: str = "",
    description: str = "",
    cover_image_url: str = "",
    kind: Show.Kind = Show.Kind.LIVE,
    is_test: bool = False,
    is_private: bool = False,
    replay_allowed: bool = True,
    max_pins: int = 3,
    show_price_while_pinned_only: bool = False,
) -> Show:
    """Create a draft show in a free slot of ``channel``.

    Locks the channel row for the overlap check. Raises ``ValidationError``
    for a taken slot or bad fields; nothing is written then.
    """
    channel_lock(channel_id=channel.pk)
    show_schedule_validate(channel_id=channel.pk, start=scheduled_start, end=scheduled_end)
    show = Show(
        channel=channel,
        title=title,
        slug=slug or _unique_slug(channel_id=channel.pk, title=title),
        description=description,
        cover_image_url=cover_image_url,
        kind=kind,
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
        is_test=is_test,
        is_private=is_private,
        replay_allowed=replay_allowed,
        max_pins=max_pins,
        show_price_while_pinned_only=show_price_while_pinned_only,
        created_by=created_by,
        status=Show.Status.DRAFT,
    )
    show.full_clean()
    show.save()
    return show


EDITABLE_FIELDS = (
    "title",
    "slug",
    "description",
    "cover_image_url",
    "kind",
    "scheduled_start",
    "scheduled_end",
    "is_test",
    "is_private",
    "replay_allowed",
    "max_pins",
    "show_price_while_pinned_only",
)


@transaction.atomic
def show_update(*, show: Show, data: dict) -> Show:
    """Change a show's editable fields (``EDITABLE_FIELDS``), re-checking its slot.

    A live, ended or cancelled show cannot be moved. Raises
    ``ValidationError`` and writes nothing on bad data. Data equal to what is
    stored writes nothing either (``updated_at`` stays).
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    channel_lock(channel_id=show.channel_id)
    current = show_lock(show_id=show.pk)
    if all(getattr(current, field) == value for field, value in data.items()):
        # A form saved as it was: the row stays as it is, updated_at included.
        return current
    moves = any(
        field in data and data[field] != getattr(current, field)
        for field in ("scheduled_start", "scheduled_end")
    )
    if moves and current.status not in (Show.Status.DRAFT, Show.Status.SCHEDULED):
        raise ShowTransitionError(
            f"{_status_phrase(current.status)} show cannot be moved to another time."
        )
    for field, value in data.items():
        setattr(current, field, value)
    show_schedule_validate(
        channel_id=current.channel_id,
        start=current.scheduled_start,
        end=current.scheduled_end,
        exclude_show_id=current.pk,
    )
    current.full_clean()
    current.save()
    return current


def show_transition(*, show: Show, to_status: Show.Status, now: dt.datetime | None = None) -> Show:
    """Move ``show`` to ``to_status`` if the status machine allows it.

    Must run inside a transaction: the show row is locked, so two concurrent
    transitions cannot both succeed; a caller that locks the channel too must
    have locked it first (docs/architecture.md, "Lock order"). Records actual
    start and end times, appends ``show.status`` to the show's log (published
    after commit) and calls the transition listeners of ``shows.lifecycle`` (chat's
    system message, video's now-playing). An ending show closes its open pins,
    then calls the end listeners (video announces its replay if one is ready).
    Raises ``ShowTransitionError`` (409) for an illegal move and ``RuntimeError``
    outside ``transaction.atomic``.
    """
    atomic_required("show_transition")
    now = now or timezone.now()
    current = show_lock(show_id=show.pk)
    if to_status not in ALLOWED_TRANSITIONS[current.status]:
        raise ShowTransitionError(
            f"{_status_phrase(current.status)} show cannot become "
            f"{Show.Status(to_status).label.lower()}."
        )
    current.status = to_status
    fields = ["status", "updated_at"]
    if to_status == Show.Status.LIVE:
        current.actual_start = now
        fields.append("actual_start")
    elif to_status == Show.Status.ENDED:
        current.actual_end = now
        fields.append("actual_end")
    elif to_status == Show.Status.CANCELLED:
        current.cancelled_at = now
        fields.append("cancelled_at")
    current.save(update_fields=fields)
    show_event_append(show_id=current.pk, type="show.status", data=show_status_payload(current))
    # The apps above shows react here (chat's system message, video's now-playing):
    # shows.lifecycle says who registered.
    for listener in lifecycle.show_transition_listeners():
        listener(show=current)
    if to_status == Show.Status.ENDED:
        for pin in ShowPin.objects.filter(show=current, unpinned_at__isnull=True):
            _pin_close(show=current, pin=pin, actor=None, now=now)
        # After the pins are closed: a replay that opens now (a premiere's own video)
        # carries them in its timeline.
        for listener in lifecycle.show_end_listeners():
            listener(show=current)
    return current


@transaction.atomic
def show_publish(*, show: Show) -> Show:
    """Put a draft on the public schedule (draft → scheduled).

    The slot is checked again, as a draft may have been saved before another
    show took its place.
    """
    channel_lock(channel_id=show.channel_id)
    # The slot is the locked row's: a concurrent move may have changed it since ``show`` was read.
    current = show_lock(show_id=show.pk)
    show_schedule_validate(
        channel_id=current.channel_id,
        start=current.scheduled_start,
        end=current.scheduled_end,
        exclude_show_id=current.pk,
    )
    return show_transition(show=current, to_status=Show.Status.SCHEDULED)


@transaction.atomic
def show_go_live(*, show: Show, now: dt.datetime | None = None) -> Show:
    """scheduled → live; records the actual start (``now``, default the clock).

    A channel carries one stream: while another of its shows is live this one
    cannot go live (``ConflictError`` code ``channel_busy``). Locks the channel,
    then the show.
    """
    channel_lock(channel_id=show.channel_id)
    show_lock(show_id=show.pk)
    other_live = (
        Show.objects.filter(channel_id=show.channel_id, status=Show.Status.LIVE)
        .exclude(pk=show.pk)
        .first()
    )
    if other_live is not None:
        raise ConflictError(
            f'"{other_live.title}" is live on this channel; end it before going live.',
            code="channel_busy",
        )
    return show_transition(show=show, to_status=Show.Status.LIVE, now=now)


@transaction.atomic
def show_end(*, show: Show, now: dt.datetime | None = None) -> Show:
    """live → ended; records the actual end (``now``, default the clock).

    Open pins are closed at the same moment (``product.unpinned``).
    """
    return show_transition(show=show, to_status=Show.Status.ENDED, now=now)


@transaction.atomic
def show_cancel(*, show: Show, reason: str = "") -> Show:
    """draft or scheduled → cancelled. The show stays visible as cancelled.

    Side effect: after commit, everyone who asked to be reminded is told
    (``show_cancellation_notify`` task; if the broker is down, the beat sweep
    ``show_notices_sweep`` sends what is left unsent).
    """
    cancelled = show_transition(show=show, to_status=Show.Status.CANCELLED)
    if reason:
        cancelled.cancellation_reason = reason[:300]
        cancelled.save(update_fields=["cancellation_reason"])
    from shows.tasks import show_cancellation_notify as show_cancellation_notify_task

    task_enqueue_on_commit(show_cancellation_notify_task, show_id=cancelled.pk)
    return cancelled


@transaction.atomic
def show_member_add(*, show: Show, user: User, role: ShowMember.Role) -> ShowMember:
    """Give ``user`` a role on ``show``; adding an existing role is a no-op."""
    member, _ = ShowMember.objects.get_or_create(show=show, user=user, role=role)
    return member


@transaction.atomic
def show_lineup_add(
    *, show: Show, product: Product, show_price: Decimal | None = None, position: int | None = None
) -> ShowProduct:
    """Add ``product`` to the end of the lineup (or update its show price)."""
    show_lock(show_id=show.pk)
    if position is None:
        last = show.lineup.order_by("-position").values_list("position", flat=True).first()
        position = 0 if last is None else last + 1
    item, created = ShowProduct.objects.get_or_create(
        show=show, product=product, defaults={"position": position, "show_price": show_price}
    )
    if not created and item.show_price != show_price:
        item.show_price = show_price
        item.save(update_fields=["show_price"])
        # Viewers looking at the card must see the new price.
        pin = ShowPin.objects.filter(show=show, product=product, unpinned_at__isnull=True).first()
        if pin is not None:
            show_event_append(
                show_id=show.pk,
                type="product.updated",
                data=show_pin_payload_get(show=show, pin_id=pin.pk),
            )
    return item


# --- Pinned products --------------------------------------------------------------


def _offset_ms(*, show: Show, moment: dt.datetime) -> int:
    start = show.actual_start or moment
    # Whole milliseconds with integer arithmetic: a float would turn 4.1 s into 4099.
    return max(0, (moment - start) // dt.timedelta(milliseconds=1))


def _pin_actor_require(*, show: Show, actor: User | None) -> None:
    # No actor is liveshop itself: a premiere's planned pin firing on schedule,
    # checked when it was planned (video.services.planned_pin_create).
    if actor is not None and not show_chat_role(show_id=show.pk, user=actor).can_moderate:
        raise PermissionDeniedError("Only the show's hosts and moderators may pin products.")


@transaction.atomic
def show_product_pin(
    *, show: Show, product_id: int, actor: User | None, now: dt.datetime | None = None
) -> ShowPin:
    """Pin an active product to the live stream; it joins the lineup if it is not in it.

    Hosts and moderators of this show and merchandisers only (else 403);
    ``actor`` None is liveshop firing a premiere's planned pin at ``now``.
    Locks the show row, so concurrent pins count each other. Refuses, before
    writing: a show that is not live (``show_not_live``), an unknown or
    inactive product (``product_not_found``), a product already pinned
    (``already_pinned``) and a pin beyond ``max_pins`` (``pin_limit_reached``).
    Side effect: a ``product.pinned`` event with the whole card, after commit.
    """
    _pin_actor_require(show=show, actor=actor)
    now = now or timezone.now()
    current = show_lock(show_id=show.pk)
    if current.status != Show.Status.LIVE:
        raise ConflictError(
            "Products can be pinned only while the show is live.", code="show_not_live"
        )
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise NotFoundError("No active product with this id.", code="product_not_found")
    open_product_ids = list(
        ShowPin.objects.filter(show=current, unpinned_at__isnull=True).values_list(
            "product_id", flat=True
        )
    )
    if product.pk in open_product_ids:
        raise ConflictError(f'"{product.title}" is already pinned.', code="already_pinned")
    if len(open_product_ids) >= current.max_pins:
        raise ConflictError(
            f"At most {current.max_pins} products can be pinned at once; unpin one first.",
            code="pin_limit_reached",
            extra={"max_pins": current.max_pins},
        )
    if not ShowProduct.objects.filter(show=current, product=product).exists():
        show_lineup_add(show=current, product=product)
    pin = ShowPin.objects.create(
        show=current,
        product=product,
        pinned_by=actor,
        pinned_at=now,
        start_offset_ms=_offset_ms(show=current, moment=now),
    )
    show_event_append(
        show_id=current.pk,
        type="product.pinned",
        data=show_pin_payload_get(show=current, pin_id=pin.pk),
    )
    return pin


def _pin_close(*, show: Show, pin: ShowPin, actor: User | None, now: dt.datetime) -> None:
    pin.unpinned_at = now
    pin.unpinned_by = actor
    pin.end_offset_ms = max(pin.start_offset_ms, _offset_ms(show=show, moment=now))
    pin.save(update_fields=["unpinned_at", "unpinned_by", "end_offset_ms"])
    show_event_append(
        show_id=show.pk,
        type="product.unpinned",
        data={
            "pin_id": pin.pk,
            "product_id": pin.product_id,
            "end_offset": pin.end_offset_ms / 1000,
        },
    )


@transaction.atomic
def show_product_unpin(
    *, show: Show, pin_id: int, actor: User | None, now: dt.datetime | None = None
) -> ShowPin:
    """Unpin: the pin's end offset is recorded and viewers drop the card.

    Same permissions as pinning (``actor`` None: a planned pin's end). Refuses a pin of another show
    (``pin_not_found``) and one already unpinned (``not_pinned``) without
    writing. Side effect: a ``product.unpinned`` event after commit.
    """
    _pin_actor_require(show=show, actor=actor)
    current = show_lock(show_id=show.pk)
    pin = ShowPin.objects.filter(pk=pin_id, show=current).first()
    if pin is None:
        raise NotFoundError("No pin with this id in this show.", code="pin_not_found")
    if pin.unpinned_at is not None:
        raise ConflictError("This product is no longer pinned.", code="not_pinned")
    _pin_close(show=current, pin=pin, actor=actor, now=now or timezone.now())
    return pin


@transaction.atomic
def product_pins_refresh(
    *, product_ids: list[int] | None = None, show_id: int | None = None
) -> int:
    """Send a fresh card (``product.updated``) for open pins in live shows.

    Pins of ``product_ids`` in every show, or every pin of ``show_id`` (its
    show prices changed), or both filters at once. For edits viewers must see
    at once: a price, a title, an option. Events go out after commit. Returns
    how many cards were sent.
    """
    pins = list(
        pins_open_live(product_ids=product_ids, show_id=show_id)
        .select_related("show")
        .order_by("show_id", "pk")
    )
    for pin in pins:
        show_event_append(
            show_id=pin.show_id,
            type="product.updated",
            data=show_pin_payload_get(show=pin.show, pin_id=pin.pk),
        )
    return len(pins)


def variant_stock_announce(*, variant: Variant, previous_quantity: int) -> int:
    """Tell every live show pinning ``variant``'s product about its new stock.

    Must run inside the transaction that changed the stock (else
    ``RuntimeError``), so the event goes out only if the change commits. Sends
    nothing when what viewers see (the state and the "only N left" count) did
    not change. ``variant`` must come with its product and storefront. Returns
    how many shows were told.
    """
    atomic_required("variant_stock_announce")
    threshold = variant.product.storefront.low_stock_threshold
    before = variant_stock_view(quantity=previous_quantity, low_stock_threshold=threshold)
    after = variant_stock_view(quantity=variant.stock_quantity, low_stock_threshold=threshold)
    if before == after:
        return 0
    show_ids = list(
        pins_open_live(product_ids=[variant.product_id])
        .values_list("show_id", flat=True)
        .order_by("show_id")
    )
    data = {
        "product_id": variant.product_id,
        "variant_id": variant.pk,
        "sku": variant.sku,
        **after,
    }
    for show_id in show_ids:
        show_event_append(show_id=show_id, type="stock.changed", data=data)
    return len(show_ids)


# --- Reminders ("remind me") ---------------------------------------------------


class ShowNotUpcomingError(ConflictError):
    default_code = "show_not_upcoming"


@transaction.atomic
def show_reminder_subscribe(
    *, show: Show, user: User, now: dt.datetime | None = None
) -> tuple[ShowReminder, bool]:
    """Ask for a "starting soon" notice for ``show``; returns the reminder and whether it is new.

    Only for a scheduled show that has not started (``ShowNotUpcomingError``
    otherwise, nothing written). Idempotent: a second call returns the
    existing reminder, backed by the unique constraint on (show, user). The
    show row is locked so a concurrent cancellation either sees this reminder
    (and tells its owner) or makes this call fail.
    """
    now = now or timezone.now()
    current = show_lock(show_id=show.pk)
    if current.status != Show.Status.SCHEDULED or current.scheduled_start <= now:
        raise ShowNotUpcomingError("Reminders are only for scheduled shows that have not started.")
    return ShowReminder.objects.get_or_create(show=current, user=user)


@transaction.atomic
def show_reminder_unsubscribe(*, show: Show, user: User) -> None:
    """Withdraw ``user``'s reminder for ``show``.

    Allowed in any show status: removing one's own reminder never harms.
    Raises ``NotFoundError`` if there is none.
    """
    deleted, _ = ShowReminder.objects.filter(show=show, user=user).delete()
    if not deleted:
        raise NotFoundError("You have no reminder for this show.", code="reminder_not_found")


# A year of weekly copies; more is a mistake, and each copy is a few writes.
SHOW_DUPLICATE_MAX_COPIES = 52


def _local_label(*, moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return f"{timezone.localtime(moment, zone):%Y-%m-%d %H:%M} {zone.key}"


def show_duplicate_slots_require(
    *, show: Show, starts: list[dt.datetime], now: dt.datetime | None = None
) -> None:
    """Raise ``ValidationError`` listing every start where a copy of ``show`` cannot go.

    A copy keeps the show's duration. A start is refused when it is not in the
    future, when the slot is taken on the channel, or when it overlaps another
    copy in the same batch. Reads only; callers that go on to write must hold
    the channel lock (``show_duplicate`` does).
    """
    if not starts:
        raise ValidationError("Pick at least one date for the copies.", code="required")
    if len(starts) > SHOW_DUPLICATE_MAX_COPIES:
        raise ValidationError(
            f"At most {SHOW_DUPLICATE_MAX_COPIES} copies can be made at once.", code="too_many"
        )
    if any(timezone.is_naive(start) for start in starts):
        raise ValidationError("Copy start times must carry a time zone.", code="naive")
    now = now or timezone.now()
    zone = channel_zone(show.channel)
    duration = show.scheduled_end - show.scheduled_start
    problems: list[str] = []
    previous_end: dt.datetime | None = None
    for start in sorted(starts):
        label = _local_label(moment=start, zone=zone)
        end = start + duration
        if start <= now:
            problems.append(f"{label}: this time has already passed.")
        elif previous_end is not None and start < previous_end:
            problems.append(f"{label}: overlaps the copy before it.")
        else:
            try:
                show_schedule_validate(channel_id=show.channel_id, start=start, end=end)
            except ValidationError as error:
                messages = error.message_dict.get("scheduled_start") or error.messages
                problems.append(f"{label}: {messages[0]}")
        previous_end = end
    if problems:
        raise ValidationError(problems, code="slot_taken")


@transaction.atomic
def show_duplicate(*, show: Show, starts: list[dt.datetime], created_by: User | None) -> list[Show]:
    """Copy ``show`` to each of ``starts`` as drafts, with its lineup and team.

    Copies keep the title, description, kind, flags and duration; the lineup
    keeps positions and show prices. Locks the channel row and checks every
    slot first (``show_duplicate_slots_require``): if any is refused, the
    ``ValidationError`` lists them all and no copy is written. Returns the
    copies in time order. Nobody is notified: drafts are not public.
    """
    channel_lock(channel_id=show.channel_id)
    source = Show.objects.select_related("channel").get(pk=show.pk)
    show_duplicate_slots_require(show=source, starts=starts)
    duration = source.scheduled_end - source.scheduled_start
    lineup = list(source.lineup.order_by("position", "pk"))
    members = list(source.members.order_by("pk"))
    copies = []
    for start in sorted(starts):
        copy = show_create(
            channel=source.channel,
            title=source.title,
            scheduled_start=start,
            scheduled_end=start + duration,
            created_by=created_by,
            description=source.description,
            cover_image_url=source.cover_image_url,
            kind=Show.Kind(source.kind),
            is_test=source.is_test,
            is_private=source.is_private,
            replay_allowed=source.replay_allowed,
            max_pins=source.max_pins,
            show_price_while_pinned_only=source.show_price_while_pinned_only,
        )
        ShowProduct.objects.bulk_create(
            ShowProduct(
                show=copy,
                product_id=item.product_id,
                position=item.position,
                show_price=item.show_price,
            )
            for item in lineup
        )
        ShowMember.objects.bulk_create(
            ShowMember(show=copy, user_id=member.user_id, role=member.role) for member in members
        )
        copies.append(copy)
    return copies


def show_weekly_starts(
    *, first_start: dt.datetime, weeks: int, timezone_name: str
) -> list[dt.datetime]:
    """``weeks`` starts, one a week from ``first_start``, at the same local wall time.

    Stepping in the channel's zone keeps a 20:00 show at 20:00 across a
    daylight-saving change instead of drifting by an hour.
    """
    zone = zone_named(timezone_name)
    local = first_start.astimezone(zone)
    try:
        return [(local + dt.timedelta(weeks=week)).astimezone(dt.UTC) for week in range(weeks)]
    except OverflowError as error:
        raise ValidationError("These weekly copies would run past the year 9999.") from error

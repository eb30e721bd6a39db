"""Row locks of the consultations app, in liveshop's one lock order (docs/architecture.md).

Desk (its ticket counter, taken with a conditional ``UPDATE``), then DeskAdvisor, then
Consultation. ``FOR NO KEY UPDATE`` for the reasons given in ``shows.lock_objects``.
"""

from django.db import connection

from consultations.models import CallbackRequest, Consultation, DeskAdvisor


def desk_ticket_allocate(*, desk_id: int) -> int:
    """The desk's next ticket number; locks the desk row until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE consultations_desk SET next_ticket = next_ticket + 1 WHERE id = %s "
            "RETURNING next_ticket - 1",
            [desk_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"desk {desk_id} does not exist")
    return int(row[0])


def desk_advisor_lock(*, desk_id: int, user_id: int) -> DeskAdvisor | None:
    """Lock the advisor's row at a desk (their capacity): before any consultation row."""
    return (
        DeskAdvisor.objects.select_for_update(of=("self",), no_key=True)
        .filter(desk_id=desk_id, user_id=user_id)
        .first()
    )


def consultation_lock(*, consultation_id: int) -> Consultation:
    """Lock one consultation row. Raises ``Consultation.DoesNotExist``."""
    return Consultation.objects.select_for_update(of=("self",), no_key=True).get(pk=consultation_id)


def consultation_next_waiting_lock(*, desk_id: int) -> Consultation | None:
    """Lock the first waiting request of the desk that nobody else is taking right now.

    ``SKIP LOCKED``: two advisors taking "the next" at once get two different requests
    instead of the second one waiting for the first and then finding it taken.
    """
    return (
        Consultation.objects.select_for_update(of=("self",), no_key=True, skip_locked=True)
        .filter(desk_id=desk_id, status=Consultation.Status.WAITING)
        .order_by("ticket")
        .first()
    )


def callback_lock(*, callback_id: int) -> CallbackRequest:
    """Lock one callback request (alone: no path locks another row with it)."""
    return CallbackRequest.objects.select_for_update(of=("self",), no_key=True).get(pk=callback_id)

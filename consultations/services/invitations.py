"""A show's team invites the asker of a question to a private consultation.

The asker is already talking to the inviter, so the consultation starts in progress with the
inviter as its advisor; the question and the show come with it. The invitation reaches the
asker on the show's socket, where only they (and the team) see it
(docs/design/consultations.md, section 5).
"""

import datetime as dt
import uuid

from django.db import transaction
from django.utils import timezone

from chat.models import ChatMessage
from chat.selectors import chat_answerer_require
from consultations.lock_objects import desk_advisor_lock, desk_ticket_allocate
from consultations.models import Consultation, Desk
from liveshop.accounts.models import User
from liveshop.common.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from realtime.models import Audience
from shows.events import show_event_append
from shows.models import Show, ShowProduct

INVITED_EVENT = "consultation.invited"


def desk_serves_show(*, desk: Desk, show: Show) -> bool:
    """A desk serves a show's viewers if it serves its channel or the shop of its lineup."""
    if desk.channel_id is not None and desk.channel_id == show.channel_id:
        return True
    return (
        desk.storefront_id is not None
        and ShowProduct.objects.filter(
            show=show, product__storefront_id=desk.storefront_id
        ).exists()
    )


def _question_get(*, show: Show, question_id: int) -> ChatMessage:
    question = (
        ChatMessage.objects.select_related("author")
        .filter(
            pk=question_id,
            show=show,
            is_question=True,
            state=ChatMessage.State.VISIBLE,
        )
        .exclude(visibility=ChatMessage.Visibility.HELD)
        .first()
    )
    if question is None:
        raise NotFoundError("No open question with this id in this show.")
    return question


def consultation_invite_from_question(
    *, actor: User, show: Show, question_id: int, desk: Desk, now: dt.datetime | None = None
) -> Consultation:
    """Invite the asker of ``question_id`` to a private consultation at ``desk`` with ``actor``.

    Preconditions (each refusal changes nothing and sends nothing): ``actor`` works on the
    show's question queue (403) and advises at ``desk`` (``not_an_advisor``, 403) with room
    for one more consultation (``at_capacity``, 409); the desk serves the show
    (``desk_not_for_show``, 409); the question is visible in the show (404) and asked by
    someone else (``own_question``, 409) who has no open consultation at the desk
    (``already_in_consultation``, 409). Side effects: a consultation in progress with
    ``actor`` as advisor, the question as its first message, and ``consultation.invited``
    on the show's log for the asker (and the team), published after commit. Locks the
    show's room, then the desk's counter, then the advisor's row (docs/architecture.md).
    """
    now = now or timezone.now()
    chat_answerer_require(show=show, actor=actor)
    question = _question_get(show=show, question_id=question_id)
    asker = question.author
    if asker is None or not asker.is_active:
        raise NotFoundError("No open question with this id in this show.")
    if asker.pk == actor.pk:
        raise ConflictError("You cannot invite yourself.", code="own_question")
    if not desk_serves_show(desk=desk, show=show):
        raise ConflictError(f"{desk.name} does not serve this show.", code="desk_not_for_show")
    public_id = uuid.uuid4()
    with transaction.atomic():
        show_event_append(
            show_id=show.pk,
            type=INVITED_EVENT,
            data={
                "consultation": str(public_id),
                "desk": {"slug": desk.slug, "name": desk.name},
                "advisor": {"id": actor.pk, "name": str(actor)},
                "question_id": question.pk,
            },
            audience=Audience.USER,
            audience_user_id=asker.pk,
        )
        ticket = desk_ticket_allocate(desk_id=desk.pk)
        seat = desk_advisor_lock(desk_id=desk.pk, user_id=actor.pk)
        if seat is None or not seat.is_active:
            raise PermissionDeniedError(f"You do not advise at {desk.name}.", code="not_an_advisor")
        in_progress = Consultation.objects.filter(
            desk=desk, advisor=actor, status=Consultation.Status.ACTIVE
        ).count()
        if in_progress >= seat.capacity:
            raise ConflictError(
                f"You already have {in_progress} consultations in progress, your limit.",
                code="at_capacity",
            )
        if Consultation.objects.filter(
            desk=desk, viewer=asker, status__in=Consultation.OPEN_STATUSES
        ).exists():
            raise ConflictError(
                f"{asker} already has a consultation at {desk.name}.",
                code="already_in_consultation",
            )
        return Consultation.objects.create(
            public_id=public_id,
            desk=desk,
            ticket=ticket,
            viewer=asker,
            show=show,
            question_id=question.pk,
            source=Consultation.Source.QUESTION,
            mode=Consultation.Mode.CHAT,
            first_message=question.text,
            status=Consultation.Status.ACTIVE,
            advisor=actor,
            requested_at=now,
            taken_at=now,
            viewer_seen_at=now,
        )

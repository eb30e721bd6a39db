"""Functions that only work inside the caller's transaction refuse to run outside one,
before writing anything (``liveshop.common.transactions.atomic_required``)."""

import pytest

from chat.models import ChatMessage, ShowEvent, ShowRoom
from chat.services import system_message_post
from liveshop.common.transactions import atomic_required
from realtime import broker
from shows.events import show_event_append, show_room_ensure, show_seq_allocate
from shows.models import Show
from shows.services import show_transition, variant_stock_announce
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr(broker, "broker_publish", lambda **kwargs: sent.append(kwargs))
    return sent


def _room(show) -> tuple[int, int]:
    room = ShowRoom.objects.get(show=show)
    return room.last_seq, ShowEvent.objects.filter(show=show).count()


def test_atomic_required_passes_inside_atomic():
    from django.db import transaction

    with transaction.atomic():
        atomic_required("anything")
    with pytest.raises(RuntimeError) as refused:
        atomic_required("anything")
    assert str(refused.value) == "anything must run inside transaction.atomic"


def test_show_event_append_outside_a_transaction_raises_and_writes_nothing(published):
    show = factories.ShowFactory()
    show_room_ensure(show_id=show.pk)
    with pytest.raises(RuntimeError, match="^show_event_append must run inside"):
        show_event_append(show_id=show.pk, type="stock.changed", data={})
    assert _room(show) == (0, 0)
    assert published == []


def test_show_seq_allocate_outside_a_transaction_raises_and_allocates_nothing(published):
    show = factories.ShowFactory()
    show_room_ensure(show_id=show.pk)
    with pytest.raises(RuntimeError, match="^show_seq_allocate must run inside"):
        show_seq_allocate(show_id=show.pk)
    assert _room(show) == (0, 0)


def test_system_message_post_outside_a_transaction_raises_and_writes_nothing(published):
    show = factories.ShowFactory(status=Show.Status.LIVE)
    show_room_ensure(show_id=show.pk)
    with pytest.raises(RuntimeError, match="^system_message_post must run inside"):
        system_message_post(show_id=show.pk, text="The show is live.")
    assert ChatMessage.objects.filter(show=show).count() == 0
    assert _room(show) == (0, 0)
    assert published == []


def test_show_transition_outside_a_transaction_raises_and_changes_nothing(published):
    show = factories.ShowFactory(status=Show.Status.SCHEDULED)
    with pytest.raises(RuntimeError, match="^show_transition must run inside"):
        show_transition(show=show, to_status=Show.Status.LIVE)
    show.refresh_from_db()
    assert (show.status, show.actual_start) == (Show.Status.SCHEDULED, None)
    assert ShowEvent.objects.filter(show=show).count() == 0
    assert published == []


def test_variant_stock_announce_outside_a_transaction_raises_even_with_nothing_to_tell(
    published,
):
    # No live show pins the product, so before the guard nothing failed and a caller
    # outside a transaction went unnoticed until a show pinned it.
    variant = factories.VariantFactory(stock_quantity=3)
    with pytest.raises(RuntimeError, match="^variant_stock_announce must run inside"):
        variant_stock_announce(variant=variant, previous_quantity=3)
    assert ShowEvent.objects.count() == 0
    assert published == []

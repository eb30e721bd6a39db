"""Every pair of paths that lock the same rows, in real threads on PostgreSQL.

``threads_run_interleaved`` makes each thread take its first row lock before
any takes its second, so two paths that lock in opposite orders always
deadlock; with one lock order (docs/architecture.md, "Lock order") the second
path waits for the first and both outcomes are the ones a serial run gives.
"""

import datetime as dt
import uuid
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.models import Order, Variant
from catalog.services.demo_cart import order_place
from catalog.services.webhooks import StockUpdate, storefront_stock_webhook_apply
from chat.models import ChatMessage
from chat.services import chat_message_create, question_claim, user_sanction_create
from liveshop.common.exceptions import ApplicationError
from shows.models import Show, ShowEvent
from shows.services import show_cancel, show_end, show_go_live, show_update
from tests import factories
from tests.threads import threads_run_interleaved
from video.models import IngestSession
from video.services import (
    channel_now_playing_tick,
    premiere_tick,
    recording_register,
    stream_publish_authorize,
    stream_publish_end,
    stream_show_end,
)


@pytest.fixture(autouse=True)
def _no_playable_wait(settings):
    # An accepted publish queues the playlist watch, which runs eagerly here: no waiting.
    settings.LIVESHOP_VIDEO_PLAYABLE_TIMEOUT_SECONDS = 0


def _outcome(call) -> str:
    try:
        return call()
    except ApplicationError as error:
        return f"refused:{error.code}"


def _publish(stream, client_id: str) -> str:
    session = stream_publish_authorize(
        provider="nginx_rtmp",
        public_id=stream.show.public_id,
        key=stream.secret,
        client_id=client_id,
    )
    return f"publish:{session.state}"


def _live_show(**fields) -> Show:
    now = timezone.now()
    return factories.ShowFactory(
        status=Show.Status.LIVE,
        scheduled_start=now - dt.timedelta(minutes=5),
        scheduled_end=now + dt.timedelta(minutes=55),
        actual_start=now - dt.timedelta(minutes=5),
        **fields,
    )


def _statuses(show: Show) -> list[str]:
    return [
        event.data["status"]
        for event in ShowEvent.objects.filter(show=show, type="show.status").order_by("seq")
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_stream_publish_and_the_go_live_api_take_a_show_live_once(media_dir):
    # Given a scheduled show in its start window, with its stream key
    stream = factories.ShowStreamFactory()
    show = stream.show

    # When the encoder publishes while a moderator presses "go live"
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: _publish(stream, "1")),
            lambda: _outcome(lambda: show_go_live(show=show).status),
        ]
    )

    # Then neither deadlocks: the show is live once, with the encoder's session
    assert outcomes[0] == "publish:live"
    assert outcomes[1] in {"live", "refused:invalid_transition"}
    show.refresh_from_db()
    assert show.status == Show.Status.LIVE
    assert _statuses(show) == ["live"]
    assert list(IngestSession.objects.filter(show=show).values_list("state", flat=True)) == ["live"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_stream_publish_and_the_end_api_on_a_live_show(media_dir):
    # Given a live show whose encoder dropped, and which a moderator now ends
    show = _live_show()
    stream = factories.ShowStreamFactory(show=show)

    # When the encoder reconnects while the show is ended
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: _publish(stream, "2")),
            lambda: _outcome(lambda: stream_show_end(show=show).status),
        ]
    )

    # Then neither deadlocks: the show ends, and the publish was either before (and
    # its publisher is dropped) or after the end (and refused)
    assert outcomes[1] == "ended"
    assert outcomes[0] in {"publish:live", "refused:show_not_streamable"}
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED
    assert _statuses(show) == ["ended"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_publish_and_the_old_publishers_publish_done(media_dir):
    # Given a live show streamed by client 1
    stream = factories.ShowStreamFactory()
    show = stream.show
    _publish(stream, "1")

    # When client 1's publish_done and client 2's publish arrive at once
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: _publish(stream, "2")),
            lambda: _outcome(
                lambda: (
                    stream_publish_end(
                        provider="nginx_rtmp", public_id=show.public_id, client_id="1"
                    ).state
                )
            ),
        ]
    )

    # Then neither deadlocks: client 1's session ends, and with it the show; client 2
    # found client 1 still on or the show ended
    assert outcomes[1] == "ended"
    assert outcomes[0] in {"refused:already_publishing", "refused:show_not_streamable"}
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED
    assert list(IngestSession.objects.filter(show=show).values_list("client_id", "state")) == [
        ("1", "ended")
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_go_live_and_end_of_one_show():
    # Given a live show
    show = _live_show()

    # When one moderator ends it while another presses "go live" again
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: show_go_live(show=show).status),
            lambda: _outcome(lambda: show_end(show=show).status),
        ]
    )

    # Then the end wins and the repeated go-live is refused, without a deadlock
    assert outcomes == ["refused:invalid_transition", "ended"]
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED
    assert _statuses(show) == ["ended"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_edit_and_a_cancellation_of_one_show():
    # Given a scheduled show
    show = factories.ShowFactory(title="Spring")

    # When a merchandiser renames it while another cancels it
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: show_update(show=show, data={"title": "Summer"}).title),
            lambda: _outcome(lambda: show_cancel(show=show).status),
        ]
    )

    # Then both land, neither lost nor deadlocked
    assert outcomes == ["Summer", "cancelled"]
    show.refresh_from_db()
    assert (show.title, show.status) == ("Summer", Show.Status.CANCELLED)
    assert _statuses(show) == ["cancelled"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_now_playing_tick_and_go_live_on_one_channel():
    # Given a scheduled show on a channel that the 24/7 tick announces
    show = factories.ShowFactory()
    channel_now_playing_tick()

    # When the tick runs while the show goes live
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: show_go_live(show=show).status),
            lambda: _outcome(lambda: str(channel_now_playing_tick())),
        ]
    )

    # Then neither deadlocks and the show is live
    assert outcomes[0] == "live"
    assert outcomes[1] in {"0", "1"}
    show.refresh_from_db()
    assert show.status == Show.Status.LIVE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_chat_message_and_the_end_of_its_show():
    # Given a live show and a viewer in its chat
    show = _live_show()
    viewer = factories.UserFactory(role="viewer")

    def send() -> str:
        result = chat_message_create(
            show_id=show.pk, user=viewer, text="Is it waterproof?", client_msg_id=uuid.uuid4()
        )
        return result.status

    def end() -> str:
        with transaction.atomic():
            return show_end(show=show).status

    # When the viewer sends while the show ends
    outcomes = threads_run_interleaved([lambda: _outcome(end), lambda: _outcome(send)])

    # Then the message's insert (a key share on the show) does not wait for the
    # show's lock while holding the room that the end needs next
    assert outcomes == ["ended", "published"]
    assert ChatMessage.objects.filter(show=show, author=viewer).count() == 1
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_carts_with_the_same_products_in_opposite_orders():
    # Given two products in stock
    storefront = factories.StorefrontFactory()
    first = factories.VariantFactory(stock_quantity=10, product__storefront=storefront)
    second = factories.VariantFactory(stock_quantity=10, product__storefront=storefront)

    def buy(variants: list[Variant], key: str) -> str:
        orders = order_place(
            lines=[
                {"variant_id": variant.pk, "quantity": 1, "show_id": None, "pin_id": None}
                for variant in variants
            ],
            viewer_key=f"viewer-{key}",
            order_key=key,
            issued_order_key=key,
        )
        return f"ordered:{len(orders)}"

    # When two viewers order both, listed in opposite orders, at once
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: buy([first, second], "order-key-one")),
            lambda: _outcome(lambda: buy([second, first], "order-key-two")),
        ]
    )

    # Then both orders are placed and each product lost two units
    assert outcomes == ["ordered:1", "ordered:1"]
    assert Order.objects.count() == 2
    assert sorted(Variant.objects.values_list("stock_quantity", flat=True)) == [8, 8]


def test_every_row_lock_is_taken_through_a_lock_objects_module():
    # The lock order holds only if no service locks rows on its own.
    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(path.relative_to(root))
        for app in ("catalog", "chat", "liveshop", "shows", "video")
        for path in sorted((root / app).rglob("*.py"))
        if path.name != "lock_objects.py" and ".select_for_update(" in path.read_text()
    ]
    assert offenders == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_timeout_and_a_message_of_the_same_user():
    # Given a live show, its moderator and a viewer in its chat
    show = _live_show()
    moderator = factories.UserFactory(role="moderator")
    factories.ShowMemberFactory(show=show, user=moderator, role="moderator")
    viewer = factories.UserFactory(role="viewer")

    def time_out() -> str:
        sanction = user_sanction_create(
            actor=moderator, show=show, user_id=viewer.pk, kind="timeout", duration_seconds=60
        )
        return sanction.kind

    def send() -> str:
        return chat_message_create(
            show_id=show.pk, user=viewer, text="Last word", client_msg_id=uuid.uuid4()
        ).status

    # When the moderator times the viewer out while the viewer sends
    outcomes = threads_run_interleaved([lambda: _outcome(time_out), lambda: _outcome(send)])

    # Then the message's insert (a key share on its author) does not wait for the
    # user's lock while holding the room that the sanction's event needs
    assert outcomes == ["timeout", "published"]
    assert ChatMessage.objects.filter(show=show, author=viewer).count() == 1
    assert ShowEvent.objects.filter(show=show, type="user.sanctioned").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_claiming_a_question_while_a_viewer_replies_to_it():
    # Given a live show with a viewer's question and a member of its service staff
    show = _live_show()
    asker = factories.UserFactory(role="viewer")
    question = chat_message_create(
        show_id=show.pk, user=asker, text="Does it run small?", client_msg_id=uuid.uuid4(),
        is_question=True,
    ).message  # fmt: skip
    staff = factories.UserFactory(role="service_staff")
    factories.ShowMemberFactory(show=show, user=staff, role="service_staff")
    replier = factories.UserFactory(role="viewer")

    def claim() -> str:
        return question_claim(actor=staff, show=show, question_id=question.pk).question_status

    def reply() -> str:
        return chat_message_create(
            show_id=show.pk,
            user=replier,
            text="It does, take one size up",
            client_msg_id=uuid.uuid4(),
            reply_to_id=question.pk,
        ).status

    # When the staff member claims the question while a viewer replies to it
    outcomes = threads_run_interleaved([lambda: _outcome(claim), lambda: _outcome(reply)])

    # Then both land
    assert outcomes == ["claimed", "published"]
    assert ChatMessage.objects.filter(show=show, reply_to=question).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_premiere_tick_and_the_go_live_api_on_one_premiere():
    # Given a premiere due to air now, its video processed
    now = timezone.now()
    show = factories.ShowFactory(
        kind=Show.Kind.RECORDED,
        scheduled_start=now - dt.timedelta(seconds=5),
        scheduled_end=now + dt.timedelta(minutes=30),
    )
    factories.RecordingFactory(show=show, provider="upload", duration_seconds=600.0)

    # When the tick airs it while a moderator presses "go live"
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: str(premiere_tick(now=now)["started"])),
            lambda: _outcome(lambda: show_go_live(show=show).status),
        ]
    )

    # Then it goes live once, without a deadlock
    assert sorted(outcomes) in (["0", "live"], ["1", "refused:invalid_transition"])
    show.refresh_from_db()
    assert show.status == Show.Status.LIVE
    assert _statuses(show) == ["live"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_publish_done_and_the_recording_of_the_same_session(media_dir):
    # Given a live show streamed by client 1, whose (empty) recording nginx reports
    stream = factories.ShowStreamFactory()
    show = stream.show
    _publish(stream, "1")
    source = media_dir / "rec" / f"{show.public_id}-1.flv"
    source.write_bytes(b"")

    def register() -> str:
        recording = recording_register(
            provider="nginx_rtmp", public_id=show.public_id, client_id="1", source=str(source)
        )
        return recording.status

    def done() -> str:
        return stream_publish_end(
            provider="nginx_rtmp", public_id=show.public_id, client_id="1"
        ).state

    # When nginx sends publish_done and the recording at once
    outcomes = threads_run_interleaved([lambda: _outcome(done), lambda: _outcome(register)])

    # Then both land: the show ends and the empty recording is reported failed
    assert outcomes == ["ended", "failed"]
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_stock_webhooks_with_the_same_skus_in_opposite_orders():
    # Given a shop with two variants
    storefront = factories.StorefrontFactory()
    factories.VariantFactory(sku="SKU-A", stock_quantity=10, product__storefront=storefront)
    factories.VariantFactory(sku="SKU-B", stock_quantity=10, product__storefront=storefront)

    def apply(webhook_id: str, skus: list[str]) -> str:
        return storefront_stock_webhook_apply(
            storefront=storefront,
            webhook_id=webhook_id,
            updates=[StockUpdate(sku=sku, delta=-1) for sku in skus],
        )

    # When two deliveries touch both, in opposite orders, at once
    outcomes = threads_run_interleaved(
        [
            lambda: _outcome(lambda: apply("w-1", ["SKU-A", "SKU-B"])),
            lambda: _outcome(lambda: apply("w-2", ["SKU-B", "SKU-A"])),
        ]
    )

    # Then both are applied
    assert outcomes == ["applied", "applied"]
    assert sorted(Variant.objects.values_list("stock_quantity", flat=True)) == [8, 8]

"""nginx-rtmp's callbacks posted to the hook views with the bodies nginx sends.

The bodies are the ones recorded from libnginx-mod-rtmp 1.2.2 (form fields
``app, flashver, swfurl, tcurl, pageurl, addr, clientid, call, name`` plus the RTMP
query arguments). Every refusal leaves shows, sessions and the event log untouched.
"""

import datetime as dt
import threading
import urllib.parse

import pytest
from django.db import connection
from django.utils import timezone

from chat.models import ShowEvent
from liveshop.common.exceptions import ApplicationError
from shows.models import Show
from tests import factories
from video.models import IngestSession, Recording
from video.services import StreamRefusedError, stream_publish_authorize

FLASHVER = "FMLE/3.0%20(compatible%3B%20Lavf59.27"
TCURL = "rtmp://127.0.0.1:11935/live"


def _body(call: str, *, name: str, clientid: str, key: str, **extra: str) -> str:
    fields = (
        f"app=live&flashver={FLASHVER}&swfurl=&tcurl={TCURL}&pageurl=&addr=127.0.0.1"
        f"&clientid={clientid}&call={call}"
    )
    if call == "record_done":
        fields += f"&recorder=&name={name}&path={urllib.parse.quote(extra['path'], safe='/')}"
    else:
        fields += f"&name={name}"
    if call == "publish":
        fields += "&type=live"
    return fields + f"&key={key}"


@pytest.fixture
def hook(client, settings, media_dir):

    def post(event: str, body: str, *, secret: str | None = None, address: str = "127.0.0.1"):
        secret = settings.LIVESHOP_VIDEO_HOOK_SECRET if secret is None else secret
        return client.post(
            f"/hooks/rtmp/{event}?secret={secret}",
            data=body,
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR=address,
        )

    return post


def _publish(hook, stream, clientid="8", key=None):
    key = stream.secret if key is None else key
    body = _body("publish", name=stream.show.public_id, clientid=clientid, key=key)
    return hook("on_publish", body)


def _publish_done(hook, stream, clientid="8"):
    body = _body("publish_done", name=stream.show.public_id, clientid=clientid, key=stream.secret)
    return hook("on_publish_done", body)


def _record_done(hook, stream, path, clientid="8"):
    body = _body(
        "record_done", name=stream.show.public_id, clientid=clientid, key=stream.secret, path=path
    )
    return hook("on_record_done", body)


def _events(show) -> list[tuple[str, str]]:
    return list(ShowEvent.objects.filter(show=show).order_by("seq").values_list("type", "audience"))


def _unchanged(show, status=Show.Status.SCHEDULED) -> None:
    show.refresh_from_db()
    assert show.status == status
    assert IngestSession.objects.filter(show=show).count() == 0
    assert _events(show) == []


def test_a_valid_key_in_the_start_window_takes_the_show_live(
    hook, show_stream_factory, django_capture_on_commit_callbacks
):
    stream = show_stream_factory()
    with django_capture_on_commit_callbacks() as callbacks:
        response = _publish(hook, stream)
    assert response.status_code == 200
    assert response.json() == {"detail": "Publish accepted.", "state": "live"}
    show = stream.show
    show.refresh_from_db()
    assert show.status == Show.Status.LIVE
    assert show.actual_start is not None
    session = IngestSession.objects.get(show=show)
    assert (session.client_id, session.provider, session.state) == ("8", "nginx_rtmp", "live")
    assert session.playable_at is None
    assert _events(show) == [("show.status", "public"), ("message.created", "public")]
    # Two broadcasts, the playable watch task and two now-playing syncs (marked by the
    # go-live and by the session; the first announces, the second finds nothing new),
    # all after commit.
    assert len(callbacks) == 5


@pytest.mark.parametrize(
    ("secret", "address"),
    [("", "127.0.0.1"), ("wrong", "127.0.0.1"), (None, "203.0.113.9")],
)
def test_a_caller_without_the_secret_or_from_another_address_is_refused(
    hook, show_stream_factory, secret, address
):
    stream = show_stream_factory()
    body = _body("publish", name=stream.show.public_id, clientid="8", key=stream.secret)
    response = hook("on_publish", body, secret=secret, address=address)
    assert response.status_code == 403
    assert response.json() == {"detail": "Unknown caller.", "code": "hook_forbidden"}
    _unchanged(stream.show)


@pytest.mark.parametrize("key", ["wrong-key", ""])
def test_a_wrong_key_is_refused(hook, show_stream_factory, key):
    stream = show_stream_factory()
    response = _publish(hook, stream, key=key)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Unknown stream or wrong stream key.",
        "code": "invalid_stream_key",
    }
    _unchanged(stream.show)


def test_an_unknown_stream_name_is_refused(hook, show_stream_factory):
    stream = show_stream_factory()
    response = hook("on_publish", _body("publish", name="nosuchshow", clientid="8", key="x"))
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_stream_key"
    _unchanged(stream.show)


@pytest.mark.parametrize("status", [Show.Status.CANCELLED, Show.Status.ENDED, Show.Status.DRAFT])
def test_a_cancelled_ended_or_draft_show_is_refused(hook, show_stream_factory, status):
    stream = show_stream_factory(show__status=status)
    response = _publish(hook, stream)
    assert response.status_code == 403
    assert response.json()["code"] == "show_not_streamable"
    _unchanged(stream.show, status=status)


@pytest.mark.parametrize(
    ("starts_in", "length"),
    [
        (dt.timedelta(minutes=31), dt.timedelta(hours=1)),
        (-dt.timedelta(hours=2), dt.timedelta(hours=1)),
    ],
)
def test_a_publish_outside_the_start_window_is_refused(
    hook, show_stream_factory, starts_in, length
):
    start = timezone.now() + starts_in
    stream = show_stream_factory(show__scheduled_start=start, show__scheduled_end=start + length)
    response = _publish(hook, stream)
    assert response.status_code == 403
    assert response.json()["code"] == "outside_start_window"
    _unchanged(stream.show)


def test_a_repeated_on_publish_is_the_same_session(hook, show_stream_factory):
    stream = show_stream_factory()
    assert _publish(hook, stream).status_code == 200
    events = _events(stream.show)
    again = _publish(hook, stream)
    assert again.status_code == 200
    assert IngestSession.objects.filter(show=stream.show).count() == 1
    assert _events(stream.show) == events


def test_a_second_publisher_is_refused_and_its_callbacks_do_not_end_the_show(
    hook, show_stream_factory, settings
):
    stream = show_stream_factory()
    assert _publish(hook, stream, clientid="8").status_code == 200
    events = _events(stream.show)
    second = _publish(hook, stream, clientid="9")
    assert second.status_code == 409
    assert second.json() == {
        "detail": "Another publisher is streaming this show.",
        "code": "already_publishing",
    }
    # nginx reports the refused client's 0-byte recording and its end anyway.
    empty = settings.LIVESHOP_VIDEO_DIR / "rec" / f"{stream.show.public_id}-1795354716.flv"
    empty.write_bytes(b"")
    assert _record_done(hook, stream, str(empty), clientid="9").json()["status"] is None
    assert _publish_done(hook, stream, clientid="9").status_code == 200
    stream.show.refresh_from_db()
    assert stream.show.status == Show.Status.LIVE
    assert IngestSession.objects.get(show=stream.show, client_id="8").state == "live"
    assert Recording.objects.count() == 0
    assert _events(stream.show) == events


def test_publish_done_from_the_same_client_ends_the_show_once(hook, show_stream_factory):
    stream = show_stream_factory()
    _publish(hook, stream)
    assert _publish_done(hook, stream).json() == {"detail": "Publish ended.", "state": "ended"}
    show = stream.show
    show.refresh_from_db()
    assert show.status == Show.Status.ENDED
    assert show.actual_end is not None
    events = _events(show)
    assert events[-2:] == [("show.status", "public"), ("message.created", "public")]
    assert _publish_done(hook, stream).status_code == 200
    assert _events(show) == events
    assert IngestSession.objects.get(show=show).ended_at is not None


def test_a_publish_done_that_overtakes_its_publish_makes_the_late_publish_refused(
    hook, show_stream_factory
):
    stream = show_stream_factory()
    assert _publish_done(hook, stream, clientid="12").status_code == 200
    late = _publish(hook, stream, clientid="12")
    assert late.status_code == 403
    assert late.json()["code"] == "session_ended"
    stream.show.refresh_from_db()
    assert stream.show.status == Show.Status.SCHEDULED
    assert _events(stream.show) == []
    # A new connection of the broadcaster is accepted as usual.
    assert _publish(hook, stream, clientid="13").status_code == 200


def test_record_done_before_publish_done_queues_the_replay_and_the_show_still_ends(
    hook, show_stream_factory, settings, django_capture_on_commit_callbacks
):
    stream = show_stream_factory()
    _publish(hook, stream)
    path = settings.LIVESHOP_VIDEO_DIR / "rec" / f"{stream.show.public_id}-1795354716.flv"
    path.write_bytes(b"FLV\x01" + b"\x00" * 100)
    with django_capture_on_commit_callbacks() as callbacks:
        response = _record_done(hook, stream, str(path))
    assert response.json() == {"detail": "Recording stored.", "status": "pending"}
    assert len(callbacks) == 1
    recording = Recording.objects.get()
    assert (recording.source, recording.size_bytes) == (str(path), 104)
    assert _record_done(hook, stream, str(path)).json()["status"] == "pending"
    assert Recording.objects.count() == 1
    _publish_done(hook, stream)
    stream.show.refresh_from_db()
    assert stream.show.status == Show.Status.ENDED


def test_an_empty_recording_is_reported_to_the_team_and_not_published(
    hook, show_stream_factory, settings, django_capture_on_commit_callbacks
):
    stream = show_stream_factory()
    _publish(hook, stream)
    path = settings.LIVESHOP_VIDEO_DIR / "rec" / f"{stream.show.public_id}-1795354716.flv"
    path.write_bytes(b"")
    events = _events(stream.show)
    with django_capture_on_commit_callbacks() as callbacks:
        response = _record_done(hook, stream, str(path))
    assert response.json() == {"detail": "Recording stored.", "status": "failed"}
    recording = Recording.objects.get()
    assert recording.failure_reason == "The recording is empty (0 bytes)."
    assert _events(stream.show) == [*events, ("video.recording_failed", "team")]
    # Only the team event's broadcast: no processing task.
    assert len(callbacks) == 1


def test_a_recording_outside_the_recording_folder_is_refused(hook, show_stream_factory, media_dir):
    stream = show_stream_factory()
    _publish(hook, stream)
    events = _events(stream.show)
    response = _record_done(hook, stream, str(media_dir / "rec" / ".." / "secrets.flv"))
    assert response.status_code == 400
    assert response.json()["code"] == "recording_outside_folder"
    assert Recording.objects.count() == 0
    assert _events(stream.show) == events


def test_a_callback_missing_its_fields_changes_nothing(hook, show_stream_factory):
    stream = show_stream_factory()
    response = hook("on_publish", "app=live&call=publish&key=" + stream.secret)
    assert response.status_code == 400
    assert response.json() == {"detail": "Missing fields: name, clientid.", "code": "invalid"}
    _unchanged(stream.show)


def test_a_live_show_without_a_publisher_accepts_its_broadcaster(hook, show_stream_factory):
    stream = show_stream_factory(show__status=Show.Status.LIVE)
    assert _publish(hook, stream).json()["state"] == "live"
    assert _events(stream.show) == []


def test_the_channel_busy_with_another_live_show_refuses_the_publish(
    hook, show_stream_factory, show_factory
):
    stream = show_stream_factory()
    show_factory(channel=stream.show.channel, status=Show.Status.LIVE)
    response = _publish(hook, stream)
    assert response.status_code == 409
    assert response.json()["code"] == "channel_busy"
    _unchanged(stream.show)


def test_the_service_refuses_a_publish_after_the_scheduled_end(show_stream_factory):
    stream = show_stream_factory()
    with pytest.raises(StreamRefusedError) as refused:
        stream_publish_authorize(
            provider="nginx_rtmp",
            public_id=stream.show.public_id,
            key=stream.secret,
            client_id="1",
            now=stream.show.scheduled_end,
        )
    assert refused.value.code == "outside_start_window"
    _unchanged(stream.show)


# Threads racing on select_for_update: SQLite has no row locks to race on.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_publishers_at_the_same_moment_get_one_session(settings, media_dir):
    # The accepted publish runs its playable watch eagerly here: check once, no wait.
    settings.LIVESHOP_VIDEO_PLAYABLE_TIMEOUT_SECONDS = 0
    stream = factories.ShowStreamFactory()
    publishers = 6
    barrier = threading.Barrier(publishers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def publish(client_id: str) -> None:
        try:
            barrier.wait()
            try:
                stream_publish_authorize(
                    provider="nginx_rtmp",
                    public_id=stream.show.public_id,
                    key=stream.secret,
                    client_id=client_id,
                )
                outcome = "accepted"
            except ApplicationError as error:
                outcome = error.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(str(n),)) for n in range(publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["accepted"] + ["already_publishing"] * (publishers - 1)
    assert IngestSession.objects.filter(show=stream.show).count() == 1
    assert ShowEvent.objects.filter(show=stream.show, type="show.status").count() == 1


@pytest.mark.parametrize(
    ("event", "body", "field"),
    [
        ("on_publish", "name={name}%00x&clientid=1&key={key}", "name"),
        ("on_publish", "name={name}&clientid=1%00&key={key}", "clientid"),
        ("on_publish_done", "name={name}&clientid=" + "9" * 5000, "clientid"),
        ("on_record_done", "name={name}&clientid=1&path=/rec/x%00y.flv", "path"),
    ],
)
def test_callback_values_with_nul_bytes_or_too_long_change_nothing(
    hook, show_stream_factory, event, body, field
):
    stream = show_stream_factory()
    response = hook(event, body.format(name=stream.show.public_id, key=stream.secret))
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Fields too long or holding a NUL byte: {field}.",
        "code": "invalid",
    }
    _unchanged(stream.show)


@pytest.mark.django_db(transaction=True)
def test_publish_and_record_done_while_the_broker_is_down_answer_200_and_log_the_lost_tasks(
    hook, show_stream_factory, settings, celery_broker_down, caplog
):
    stream = show_stream_factory()
    path = settings.LIVESHOP_VIDEO_DIR / "rec" / f"{stream.show.public_id}-1795354716.flv"
    path.write_bytes(b"FLV\x01" + b"\x00" * 100)

    published = _publish(hook, stream)
    recorded = _record_done(hook, stream, str(path))

    assert published.status_code == 200
    assert published.json() == {"detail": "Publish accepted.", "state": "live"}
    assert recorded.status_code == 200
    assert recorded.json() == {"detail": "Recording stored.", "status": "pending"}
    session = IngestSession.objects.get(show=stream.show)
    assert (session.state, session.playable_at) == ("live", None)
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.PENDING
    warnings = [
        record.getMessage().split(", the beat sweep")[0]
        for record in caplog.records
        if record.name == "liveshop.tasks"
    ]
    assert warnings == [
        f"Could not enqueue video.tasks.stream_playable_watch(session_id={session.pk})",
        f"Could not enqueue video.tasks.recording_process(recording_id={recording.pk})",
    ]

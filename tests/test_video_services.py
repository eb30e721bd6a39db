"""Playable, backstage, stream keys and the video REST endpoints."""

import pytest

from shows.models import Show, ShowEvent, ShowMember
from tests.conftest import client_for
from video.models import IngestSession
from video.selectors import show_playback_get
from video.services import (
    StreamRefusedError,
    stream_backstage_set,
    stream_playable_mark,
    stream_playable_watch,
    stream_publish_authorize,
    stream_publish_end,
)


def _publish(stream, client_id="8"):
    return stream_publish_authorize(
        provider="nginx_rtmp",
        public_id=stream.show.public_id,
        key=stream.secret,
        client_id=client_id,
    )


def _events(show) -> list[tuple[str, str]]:
    return list(ShowEvent.objects.filter(show=show).order_by("seq").values_list("type", "audience"))


def _playlist_write(media_dir, public_id: str) -> None:
    (media_dir / "hls" / f"{public_id}.m3u8").write_text(
        f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\n{public_id}-0.ts\n"
    )


def test_playable_waits_for_the_playlist_and_is_announced_once(media_dir, show_stream_factory):
    stream = show_stream_factory()
    session = _publish(stream)
    before = _events(stream.show)
    assert stream_playable_watch(session_id=session.pk, timeout=0.3, interval=0.1) is False
    # A playlist without a segment is not playable yet either.
    (media_dir / "hls" / f"{stream.show.public_id}.m3u8").write_text("#EXTM3U\n")
    assert stream_playable_watch(session_id=session.pk, timeout=0.2, interval=0.1) is False
    assert _events(stream.show) == before
    _playlist_write(media_dir, stream.show.public_id)
    assert stream_playable_watch(session_id=session.pk, timeout=0.3, interval=0.1) is True
    assert stream_playable_mark(session_id=session.pk) is False
    assert _events(stream.show) == [*before, ("video.playable", "public")]
    event = ShowEvent.objects.get(show=stream.show, type="video.playable")
    hls_url = f"http://media.example/hls/{stream.show.public_id}.m3u8"
    assert event.data == {"hls_url": hls_url, "playable": True, "state": "live"}
    assert show_playback_get(show=stream.show, is_team=False) == {
        "hls_url": hls_url,
        "playable": True,
        "state": "live",
        "replay": None,
    }


def test_an_ended_session_never_becomes_playable(media_dir, show_stream_factory):
    stream = show_stream_factory()
    session = _publish(stream)
    stream_publish_end(provider="nginx_rtmp", public_id=stream.show.public_id, client_id="8")
    _playlist_write(media_dir, stream.show.public_id)
    before = _events(stream.show)
    assert stream_playable_watch(session_id=session.pk, timeout=0.2) is False
    assert stream_playable_mark(session_id=session.pk) is False
    assert _events(stream.show) == before


def test_backstage_is_for_the_team_until_a_moderator_takes_it_live(
    media_dir, show_stream_factory, show_member_factory, viewer
):
    stream = show_stream_factory(backstage=True)
    show = stream.show
    moderator = show_member_factory(show=show, role=ShowMember.Role.MODERATOR).user
    session = _publish(stream)
    assert session.state == "backstage"
    show.refresh_from_db()
    assert show.status == Show.Status.SCHEDULED
    _playlist_write(media_dir, show.public_id)
    assert stream_playable_mark(session_id=session.pk) is True
    assert _events(show) == [("video.backstage", "team"), ("video.playable", "team")]
    assert show_playback_get(show=show, is_team=False)["hls_url"] is None
    assert show_playback_get(show=show, is_team=True)["hls_url"] is not None

    refused = client_for(viewer).post(f"/api/v1/shows/{show.public_id}/video/take-live")
    assert refused.status_code == 403
    assert _events(show) == [("video.backstage", "team"), ("video.playable", "team")]

    response = client_for(moderator).post(f"/api/v1/shows/{show.public_id}/video/take-live")
    assert response.status_code == 200
    assert response.json()["status"] == "live"
    assert _events(show)[2:] == [
        ("show.status", "public"),
        ("message.created", "public"),
        ("video.playable", "public"),
    ]
    assert show_playback_get(show=show, is_team=False)["state"] == "live"
    again = client_for(moderator).post(f"/api/v1/shows/{show.public_id}/video/take-live")
    assert again.status_code == 409
    assert again.json()["code"] == "no_backstage_stream"


def test_a_backstage_stream_that_stops_leaves_the_show_scheduled(media_dir, show_stream_factory):
    stream = show_stream_factory(backstage=True)
    _publish(stream)
    stream_publish_end(provider="nginx_rtmp", public_id=stream.show.public_id, client_id="8")
    stream.show.refresh_from_db()
    assert stream.show.status == Show.Status.SCHEDULED
    assert _events(stream.show) == [("video.backstage", "team"), ("video.backstage_ended", "team")]
    # The broadcaster can come back and go live later.
    stream_backstage_set(show=stream.show, backstage=False)
    assert _publish(stream, client_id="9").state == "live"


def test_only_hosts_and_merchandisers_see_the_stream_key(
    media_dir, show_stream_factory, show_member_factory, merchandiser, viewer, settings
):
    settings.LIVESHOP_VIDEO_RTMP_URL = "rtmp://ingest.example:1935/live"
    stream = show_stream_factory()
    show = stream.show
    host = show_member_factory(show=show, role=ShowMember.Role.HOST).user
    moderator = show_member_factory(show=show, role=ShowMember.Role.MODERATOR).user
    url = f"/api/v1/shows/{show.public_id}/video/ingest"
    for user in (host, merchandiser):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert response.json() == {
            "server_url": "rtmp://ingest.example:1935/live",
            "stream_key": f"{show.public_id}?key={stream.secret}",
            "backstage": False,
            "rotated_at": None,
        }
    for user in (moderator, viewer):
        response = client_for(user).get(url)
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert client_for(None).get(url).status_code == 401


def test_rotating_the_key_refuses_the_old_one(media_dir, show_stream_factory, show_member_factory):
    stream = show_stream_factory()
    show = stream.show
    host = show_member_factory(show=show, role=ShowMember.Role.HOST).user
    old = stream.secret
    response = client_for(host).post(f"/api/v1/shows/{show.public_id}/video/ingest/rotate")
    assert response.status_code == 200
    stream.refresh_from_db()
    assert stream.secret != old
    assert response.json()["stream_key"] == f"{show.public_id}?key={stream.secret}"
    assert response.json()["rotated_at"] is not None
    with pytest.raises(StreamRefusedError) as refused:
        stream_publish_authorize(
            provider="nginx_rtmp", public_id=show.public_id, key=old, client_id="1"
        )
    assert refused.value.code == "invalid_stream_key"
    assert IngestSession.objects.count() == 0


def test_a_viewer_cannot_rotate_or_change_backstage(media_dir, show_stream_factory, viewer):
    stream = show_stream_factory()
    show = stream.show
    base = f"/api/v1/shows/{show.public_id}/video/ingest"
    assert client_for(viewer).post(base + "/rotate").status_code == 403
    assert client_for(viewer).patch(base, {"backstage": True}, format="json").status_code == 403
    stream.refresh_from_db()
    assert (stream.rotated_at, stream.backstage) == (None, False)


def test_backstage_setting_is_validated(media_dir, show_stream_factory, merchandiser):
    stream = show_stream_factory()
    url = f"/api/v1/shows/{stream.show.public_id}/video/ingest"
    bad = client_for(merchandiser).patch(url, {"backstage": "maybe"}, format="json")
    assert bad.status_code == 400
    stream.refresh_from_db()
    assert stream.backstage is False
    good = client_for(merchandiser).patch(url, {"backstage": True}, format="json")
    assert good.json()["backstage"] is True


def test_ending_from_liveshop_ends_the_show_and_the_publish_done_changes_nothing_more(
    media_dir, show_stream_factory, show_member_factory, django_capture_on_commit_callbacks
):
    stream = show_stream_factory()
    show = stream.show
    moderator = show_member_factory(show=show, role=ShowMember.Role.MODERATOR).user
    _publish(stream)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(moderator).post(f"/api/v1/shows/{show.public_id}/video/end")
    assert response.status_code == 200
    assert response.json()["status"] == "ended"
    # Two broadcasts, the channel's now-playing and the publisher drop.
    assert len(callbacks) == 4
    events = _events(show)
    stream_publish_end(provider="nginx_rtmp", public_id=show.public_id, client_id="8")
    assert _events(show) == events
    assert IngestSession.objects.get(show=show).state == "ended"


def test_the_video_endpoint_shows_what_viewers_may_play(media_dir, show_stream_factory, viewer):
    stream = show_stream_factory()
    url = f"/api/v1/shows/{stream.show.public_id}/video"
    assert client_for(viewer).get(url).json() == {
        "hls_url": None,
        "playable": False,
        "state": None,
        "replay": None,
    }
    session = _publish(stream)
    assert client_for(viewer).get(url).json()["state"] == "live"
    _playlist_write(media_dir, stream.show.public_id)
    stream_playable_mark(session_id=session.pk)
    assert client_for(viewer).get(url).json()["playable"] is True

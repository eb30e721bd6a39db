"""Celery adapters for video; the logic is in video.services.

All tasks are idempotent: marking playable, claiming a recording and announcing
a channel's now-playing lock their rows, so a duplicate delivery does nothing.
"""

from celery import shared_task


@shared_task
def stream_playable_watch(session_id: int) -> bool:
    from video.services import stream_playable_watch as watch

    return watch(session_id=session_id)


@shared_task(acks_late=True)
def recording_process(recording_id: int) -> str | None:
    from video.services import recording_process as process

    recording = process(recording_id=recording_id)
    return None if recording is None else recording.status


@shared_task
def premiere_tick() -> dict[str, int]:
    """Beat job: air due premieres and end finished ones."""
    from video.services import premiere_tick as tick

    return tick()


@shared_task
def channel_now_playing_tick() -> int:
    """Beat job: announce channels whose now-playing changed (a replay slot ended)."""
    from video.services import channel_now_playing_tick as tick

    return tick()

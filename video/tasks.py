"""Celery adapters for video; the logic is in video.services.

All tasks are idempotent: marking playable, claiming a recording and announcing
a channel's now-playing lock their rows, so a duplicate delivery does nothing.
"""

from celery import shared_task


@shared_task
def stream_playable_watch(session_id: int, timeout: float | None = None) -> bool:
    from video.services import stream_playable_watch as watch

    return watch(session_id=session_id, timeout=timeout)


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


@shared_task
def video_work_sweep() -> int:
    """Beat job (every minute): enqueue again the video work a broker outage kept pending.

    Unprocessed recordings go to ``recording_process``; open sessions not yet
    playable get one more check of their playlist (a watch with no polling).
    """
    from video.services import recordings_unprocessed_list, sessions_unplayable_list

    recording_ids = recordings_unprocessed_list()
    for recording_id in recording_ids:
        recording_process.delay(recording_id)
    session_ids = sessions_unplayable_list()
    for session_id in session_ids:
        stream_playable_watch.delay(session_id, timeout=0)
    return len(recording_ids) + len(session_ids)

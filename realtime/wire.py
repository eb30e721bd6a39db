"""Values and frames as the wire carries them (docs/protocol.md)."""

from datetime import datetime

import orjson


def iso_utc(moment: datetime | None) -> str | None:
    """An aware UTC datetime as ISO 8601 with a ``Z`` (``2099-07-06T13:00:00Z``); None stays
    None. The one format of times in REST answers' hand-built payloads and frames."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def frame_encode(frame: dict) -> str:
    """A frame as the text of one websocket message (compact JSON, as every socket sends)."""
    return orjson.dumps(frame).decode()

"""Times and frames on the wire: ISO 8601 in UTC with a ``Z``, compact JSON text."""

import datetime as dt

from realtime.wire import frame_encode, iso_utc


def test_iso_utc_writes_utc_with_a_z_and_keeps_none():
    assert iso_utc(dt.datetime(2099, 7, 6, 13, 0, tzinfo=dt.UTC)) == "2099-07-06T13:00:00Z"
    assert iso_utc(dt.datetime(2099, 7, 6, 13, 0, 0, 250000, tzinfo=dt.UTC)) == (
        "2099-07-06T13:00:00.250000Z"
    )
    assert iso_utc(None) is None


def test_frame_encode_writes_compact_json_text_in_key_order():
    assert frame_encode({"type": "error", "code": "invalid", "detail": "é", "n": 1}) == (
        '{"type":"error","code":"invalid","detail":"é","n":1}'
    )

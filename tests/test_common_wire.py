"""Times on the wire: ISO 8601 in UTC with a ``Z``."""

import datetime as dt

from liveshop.common.wire import iso_utc


def test_iso_utc_writes_utc_with_a_z_and_keeps_none():
    assert iso_utc(dt.datetime(2099, 7, 6, 13, 0, tzinfo=dt.UTC)) == "2099-07-06T13:00:00Z"
    assert iso_utc(dt.datetime(2099, 7, 6, 13, 0, 0, 250000, tzinfo=dt.UTC)) == (
        "2099-07-06T13:00:00.250000Z"
    )
    assert iso_utc(None) is None

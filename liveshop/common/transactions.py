"""Guards for functions that only make sense inside the caller's transaction."""

from django.db import connection


def atomic_required(name: str) -> None:
    """Raise ``RuntimeError`` unless called inside ``transaction.atomic``.

    For functions that lock rows or append to a show's log: outside a transaction
    the lock would end with the statement and the log's after-commit publish
    would have no commit to wait for. ``name`` is the caller, for the message.
    """
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name} must run inside transaction.atomic")

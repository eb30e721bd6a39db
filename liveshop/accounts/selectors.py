"""Reads about accounts."""

from liveshop.common.cache import cache_value_get


def _token_stamp_key(user_id: int) -> str:
    return f"accounts:token-stamp:{user_id}"


def auth_token_stamp(*, user_id: int) -> str | None:
    """The account's token stamp: it changes whenever the account's token is revoked.

    A long-lived connection opened with the token keeps the stamp it saw and
    compares it before each write: one cache read (shared by every process on
    Redis), not a database query.
    """
    return cache_value_get(key=_token_stamp_key(user_id))

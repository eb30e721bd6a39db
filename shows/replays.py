"""Which ended shows have a replay viewers may open: video's rule, installed by video.

The channel schedule (``shows.selectors.channel_schedule_get``) lists replays, but
recordings are video's: video, above shows, installs its rule here in
``VideoConfig.ready()``, so shows imports no video module. Until then no show has one.
"""

from collections.abc import Callable

from django.db.models import Q

ReplayRule = Callable[[], Q]


def _no_replays() -> Q:
    return Q(pk__in=[])


_rule: list[ReplayRule] = [_no_replays]


def show_replay_rule_install(rule: ReplayRule) -> None:
    """Make ``rule()`` (a filter on ``Show``) the shows with a replay viewers may open."""
    _rule[0] = rule


def show_replay_rule() -> ReplayRule:
    return _rule[0]


def show_has_visible_replay_q() -> Q:
    """Shows with a replay viewers may open, as a filter on ``Show``."""
    return _rule[0]()

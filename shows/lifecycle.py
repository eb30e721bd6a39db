"""Who hears of a show's status change: listeners that the apps above shows register.

``shows.services.show_transition`` saves the new status, appends ``show.status`` to the
show's log and then calls every transition listener, inside its transaction; a show
that ends then has its open pins closed and calls the end listeners. Listeners run in
the order they were registered (each app registers in its ``AppConfig.ready()``, so in
``INSTALLED_APPS`` order) and write in the caller's transaction: what they append
commits, or rolls back, with the status. shows imports none of them: chat posts the
system message, video has the channel's now-playing announced and the replay opened.
"""

from typing import Protocol

from shows.models import Show


class ShowListener(Protocol):
    def __call__(self, *, show: Show) -> object: ...


_transition_listeners: list[ShowListener] = []
_end_listeners: list[ShowListener] = []


def _register(listeners: list[ShowListener], listener: ShowListener) -> None:
    # ready() may run more than once (tests that reload apps): a listener is called once.
    if listener not in listeners:
        listeners.append(listener)


def show_transition_listener_register(listener: ShowListener) -> None:
    """Call ``listener(show=...)`` after every status change, with the show as it now is.

    It runs inside ``show_transition``'s transaction, under the show's row lock, after
    the ``show.status`` event; it takes later locks only (docs/architecture.md, "Lock
    order"). An exception it raises rolls the transition back.
    """
    _register(_transition_listeners, listener)


def show_end_listener_register(listener: ShowListener) -> None:
    """Call ``listener(show=...)`` when a show has ended, once its open pins are closed.

    After the transition listeners, in the same transaction: what it announces (a
    replay's timeline) sees the pins closed at the end.
    """
    _register(_end_listeners, listener)


def show_transition_listeners() -> tuple[ShowListener, ...]:
    return tuple(_transition_listeners)


def show_end_listeners() -> tuple[ShowListener, ...]:
    return tuple(_end_listeners)

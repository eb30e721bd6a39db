"""Run functions in real threads that start together (concurrency tests on PostgreSQL)."""

import re
import threading
import time
from collections.abc import Callable

from django.db import OperationalError, connection


def threads_run(target: Callable[[int], str], count: int) -> list[str]:
    """Call ``target(number)`` in ``count`` threads released at once; return the outcomes."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(number: int) -> None:
        try:
            barrier.wait()
            outcome = target(number)
            with lock:
                outcomes.append(outcome)
        finally:
            # Each thread has its own connection; close it so the test database can be dropped.
            connection.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


_LOCKING = re.compile(
    r"\bFOR (NO KEY )?UPDATE\b|^\s*(UPDATE|WITH \w+ AS \(UPDATE)\b", re.IGNORECASE
)


def _lock_waiters() -> int:
    """How many other sessions of this database wait for a row lock now (own connection)."""
    import psycopg

    settings_dict = connection.settings_dict
    with psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        autocommit=True,
    ) as probe:
        return probe.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]


def threads_run_interleaved(targets: list[Callable[[], str]]) -> list[str]:
    """Run each target in a thread; all take their first row lock before any takes a second.

    Each thread pauses after its first locking statement (``SELECT ... FOR [NO KEY]
    UPDATE`` or an ``UPDATE``) until every other thread has taken its own first
    lock, or is waiting for one (then it waits behind this thread: the two lock in
    the same order). Two paths that lock the same rows in opposite orders then
    always meet in a deadlock, instead of only when the scheduler says so.
    PostgreSQL only. An ``OperationalError`` "deadlock detected" becomes the
    outcome ``"deadlock"``. Returns the outcomes in the targets' order.
    """
    count = len(targets)
    condition = threading.Condition()
    arrived = [0]
    outcomes: list[str] = [""] * count

    def arrive() -> None:
        with condition:
            arrived[0] += 1
            condition.notify_all()

    def pause() -> None:
        arrive()
        deadline = time.monotonic() + 30
        with condition:
            while arrived[0] < count and time.monotonic() < deadline:
                condition.wait(0.05)
                if arrived[0] < count and _lock_waiters() > 0:
                    return

    def run(index: int) -> None:
        paused = [False]

        def wrapper(execute, sql, params, many, context):
            result = execute(sql, params, many, context)
            if not paused[0] and _LOCKING.search(sql):
                paused[0] = True
                pause()
            return result

        try:
            with connection.execute_wrapper(wrapper):
                outcomes[index] = targets[index]()
        except OperationalError as error:
            outcomes[index] = "deadlock" if "deadlock detected" in str(error) else repr(error)
        finally:
            if not paused[0]:
                arrive()
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes

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
    """Run each target in a thread, stepping their row locks so opposite orders always meet.

    The schedule: the first target takes its first row lock (a ``SELECT ... FOR
    [NO KEY] UPDATE`` or an ``UPDATE``), then the others start and take theirs, then
    the first takes its second lock, then all run freely. A thread that waits for a
    row lock counts as having reached its step: it waits behind another, so the two
    lock in the same order. Two paths that lock the same rows in opposite orders
    then deadlock every time, instead of when the scheduler says so. PostgreSQL only.
    An ``OperationalError`` "deadlock detected" becomes the outcome ``"deadlock"``.
    Returns the outcomes in the targets' order.
    """
    count = len(targets)
    condition = threading.Condition()
    arrived = [0]
    lead_locked = [False]
    lead_on = [False]
    outcomes: list[str] = [""] * count

    def signal(flag: Callable[[], None]) -> None:
        with condition:
            flag()
            condition.notify_all()

    def wait_until(ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        with condition:
            while not ready() and time.monotonic() < deadline:
                condition.wait(0.05)
                if not ready() and _lock_waiters() > 0:
                    return

    def arrive() -> None:
        arrived[0] += 1

    def lead_lock() -> None:
        lead_locked[0] = True

    def lead_go_on() -> None:
        lead_locked[0] = lead_on[0] = True

    def run(index: int) -> None:
        locks = [0]

        def wrapper(execute, sql, params, many, context):
            result = execute(sql, params, many, context)
            if _LOCKING.search(sql):
                locks[0] += 1
                if locks[0] == 1:
                    if index == 0:
                        signal(lead_lock)
                    signal(arrive)
                    wait_until(lambda: arrived[0] >= count)
                    if index > 0:
                        wait_until(lambda: lead_on[0])
                elif locks[0] == 2 and index == 0:
                    signal(lead_go_on)
            return result

        if index > 0:
            wait_until(lambda: lead_locked[0])
        try:
            with connection.execute_wrapper(wrapper):
                outcomes[index] = targets[index]()
        except OperationalError as error:
            outcomes[index] = "deadlock" if "deadlock detected" in str(error) else repr(error)
        finally:
            if locks[0] == 0:
                signal(arrive)
            if index == 0:
                signal(lead_go_on)
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes

"""Run a function in real threads that start together (concurrency tests on PostgreSQL)."""

import threading
from collections.abc import Callable

from django.db import connection


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

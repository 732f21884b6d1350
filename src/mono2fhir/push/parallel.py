"""Run the per-chunk (or per-resource) requests of a push on a thread pool."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any


def run_parallel(jobs: int, tasks: Sequence[Callable[[], Any]], on_done: Callable[[Any], None]) -> None:
    """Run tasks on a thread pool; ``on_done`` gets each result as it completes (in this thread).
    The first exception cancels what has not started and is re-raised."""
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="mono2fhir-push") as pool:
        pending = {pool.submit(task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    on_done(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise

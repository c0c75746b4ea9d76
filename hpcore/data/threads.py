"""Work on the machine's cores: numpy passes side by side on threads.

Most of a large numpy pass runs outside the GIL (ufuncs, ``take``,
``bincount``'s summing loop, casts), so independent pieces of one table
(columns while loading, chunks of sorted rows while the engine builds its
tables) run side by side on threads, without copying the table to other
processes.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: At most this many threads, whatever the machine has: beyond it the
#: passes wait on memory, not on cores.
MAX_THREADS = 4


def cores() -> int:
    """The cores this process may run on (its CPU affinity, where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def in_order(
    work: Callable[[T], R], items: Sequence[T], *, threads: int | None = None
) -> Iterator[R]:
    """``work(item)`` for each of ``items``, yielded in their order.

    Up to ``threads`` (default: the cores, at most :data:`MAX_THREADS`) run
    at once, and at most one more result waits to be taken, so a long
    sequence of large pieces holds only a few of them at a time. With one
    thread (or one item) it is the plain loop, on the calling thread. An
    exception is raised where its item's result would have been yielded,
    as from the loop; pieces already started are finished first.
    """
    count = min(len(items), cores() if threads is None else threads, MAX_THREADS)
    if count <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=count) as pool:
        pending: deque[Future[R]] = deque()
        todo = iter(items)
        for item in todo:
            pending.append(pool.submit(work, item))
            if len(pending) > count:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

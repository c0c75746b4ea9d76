"""hpcore.data.threads: pieces of work side by side, results in order."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import hpcore
from hpcore.analysis.engine import index as index_module
from hpcore.analysis.engine import query as query_module
from hpcore.data import threads


def test_results_come_in_item_order_whatever_finishes_first() -> None:
    def work(i: int) -> int:
        time.sleep(0.02 if i % 3 == 0 else 0.0)
        return i * i

    items = list(range(20))
    assert list(threads.in_order(work, items, threads=2)) == [i * i for i in items]
    assert list(threads.in_order(work, [])) == []


def test_the_first_error_in_item_order_is_raised() -> None:

    def work(i: int) -> int:
        time.sleep(0.03 if i == 1 else 0.0)  # item 3 fails before item 1 does
        if i in (1, 3):
            raise KeyError(i)
        return i

    got = threads.in_order(work, list(range(6)), threads=2)
    assert next(got) == 0
    with pytest.raises(KeyError, match="1"):
        next(got)


def test_few_pieces_are_held_at_once() -> None:
    """A long sequence never has more than threads + 1 pieces started and
    not yet taken: their results stay few however many items there are."""
    lock = threading.Lock()
    started = [0]
    most = 0

    def work(i: int) -> int:
        with lock:
            started[0] += 1
        return i

    for taken, i in enumerate(threads.in_order(work, list(range(50)), threads=2)):
        time.sleep(0.001)  # a slow consumer
        with lock:
            most = max(most, started[0] - taken)
        assert i == taken
    assert most <= 3


def test_one_thread_is_the_plain_loop_on_the_calling_thread() -> None:
    caller = threading.get_ident()
    seen = list(threads.in_order(lambda _: threading.get_ident(), [1, 2], threads=1))
    assert seen == [caller, caller]
    assert threads.cores() >= 1


@pytest.mark.parametrize("limits", [{}, {"CHUNK_WORDS": 1, "CHUNK_ROWS": 1}])
def test_engine_tables_are_the_same_on_one_thread_and_on_several(
    limits: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunks' counts and sums do not depend on which thread made them
    (bit for bit), nor on the order they finish in."""
    monkeypatch.setattr(index_module, "STEP_MIN", 64)
    monkeypatch.setattr(index_module, "STEP_MAX", 64)
    for name, value in limits.items():
        monkeypatch.setattr(index_module, name, value)
    ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(3000, seed=3)))
    where = query_module.resolve_where(ens, {"optimizer": ["ADAM", "Momentum SGD"]})

    def tables(count: int) -> list[np.ndarray]:
        monkeypatch.setattr(threads, "MAX_THREADS", count)
        monkeypatch.setattr(threads, "cores", lambda: count)
        index = query_module.BrushEngine(ens)._index
        ft = index_module.build_filter(index, where)
        index_module.build_steps(index, ft)
        tt = index_module.build_trellis(index, ft, "dataset", "batch_size")
        assert ft.pair_cum is not None and ft.option_cum is not None
        return [ft.pair_cum, ft.option_cum, tt.count, tt.s1_hi, tt.s1_lo]

    for one, several in zip(tables(1), tables(4), strict=True):
        np.testing.assert_array_equal(one, several)

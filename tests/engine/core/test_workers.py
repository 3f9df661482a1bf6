"""engine.core.workers.bounded_map: a crashing worker costs its own task, never the job."""

from __future__ import annotations

import os
import threading

import pytest

from engine.core.jobs import Cancelled, CancelToken
from engine.core.workers import DecodePool, bounded_map


def square_or_die(value: int) -> int:
    """Runs in a worker: 13 kills the process (like a native decoder crash), 7 raises."""
    if value == 13:
        os._exit(3)
    if value == 7:
        raise ValueError("seven")
    return value * value


@pytest.fixture
def pool():
    decode_pool = DecodePool(2)
    yield decode_pool
    decode_pool.close()


def test_every_task_ends_once_and_only_the_crashing_one_is_lost(pool):
    done, crashed, errors = {}, [], []
    bounded_map(
        pool,
        square_or_die,
        ((n, n) for n in range(20)),
        in_flight=4,
        cancel=CancelToken(),
        on_done=lambda task, result: done.__setitem__(task[0], result),
        on_crash=lambda task: crashed.append(task[0]),
        on_error=lambda task, error: errors.append((task[0], str(error))),
    )
    assert crashed == [13]
    assert errors == [(7, "seven")]
    assert done == {n: n * n for n in range(20) if n not in (7, 13)}


def test_the_feed_is_read_lazily_within_the_in_flight_bound(pool):
    pulled, most_ahead = [], [0]
    finished = []

    def feed():
        for n in range(40):
            pulled.append(n)
            most_ahead[0] = max(most_ahead[0], len(pulled) - len(finished))
            yield n, n

    bounded_map(
        pool,
        square_or_die,
        feed(),
        in_flight=3,
        cancel=CancelToken(),
        on_done=lambda task, result: finished.append(task[0]),
        on_crash=lambda task: finished.append(task[0]),
        on_error=lambda task, error: finished.append(task[0]),
    )
    assert sorted(finished) == list(range(40))
    assert most_ahead[0] <= 4  # never more than the bound (plus the task being handed over)


def test_cancel_stops_the_map_and_keeps_what_finished(pool):
    cancel, done = CancelToken(), []

    def on_done(task, result):
        done.append(task[0])
        if len(done) == 3:
            threading.Thread(target=cancel.cancel).start()

    with pytest.raises(Cancelled):
        bounded_map(
            pool,
            square_or_die,
            ((n, n) for n in range(10_000) if n not in (7, 13)),
            in_flight=2,
            cancel=cancel,
            on_done=on_done,
            on_crash=lambda task: None,
        )
    assert 3 <= len(done) < 10_000

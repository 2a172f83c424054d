"""The adaptive debounce: a lone save ends its burst after 20 ms of quiet, a long burst waits longer."""

from __future__ import annotations

import threading

import pytest

from hie_tasks.watch.events import DebounceSettings, EventPool


def test_quiet_period_grows_with_the_burst_up_to_the_ceiling() -> None:
    settings = DebounceSettings(quiet_ms=150)
    assert settings.quiet_after(0.0) == pytest.approx(0.020)
    assert settings.quiet_after(0.050) == pytest.approx(0.070)
    assert settings.quiet_after(5.0) == pytest.approx(0.150)
    # --debounce-ms below the usual minimum is the minimum too.
    assert DebounceSettings(quiet_ms=5).quiet_after(0.0) == pytest.approx(0.005)
    assert DebounceSettings(quiet_ms=0).quiet_after(1.0) == 0.0


def test_drain_takes_pending_changes_without_waiting_and_wait_burst_leaves_them() -> None:
    pool = EventPool()
    stop = threading.Event()
    assert pool.drain() is None
    pool.add([("/nowhere/a.py", "touched", False)])
    assert pool.wait_burst(DebounceSettings(quiet_ms=0), stop, 5.0)
    burst = pool.drain()
    assert burst is not None and burst.paths == {"/nowhere/a.py": False}
    assert pool.drain() is None
    # Nothing pending: waiting times out instead of reporting an empty burst.
    assert not pool.wait_burst(DebounceSettings(), stop, 0.05)

"""clock: the library's time, which only the testing kit moves."""

from datetime import timedelta

from telemetry_policy import clock


def test_the_clock_is_aware_and_moves_by_the_shift(monkeypatch):
    before = clock.current_time()
    assert before.utcoffset() == timedelta(0)
    monkeypatch.setattr(clock, "shift", 86400.0)
    assert clock.current_time() - before >= timedelta(days=1)

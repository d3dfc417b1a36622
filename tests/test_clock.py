"""clock: the library's time, which only the testing kit moves."""

from datetime import timedelta

from telemetry_policy import clock


def test_the_clock_is_aware_and_moves_by_the_shift(monkeypatch):
    before = clock.current_time()
    assert before.utcoffset() == timedelta(0)
    monkeypatch.setattr(clock, "shift", 86400.0)
    assert clock.current_time() - before >= timedelta(days=1)


def test_another_process_is_moved_only_under_a_test_root():
    week = {clock.ENV_SHIFT: str(7 * 86400)}
    assert clock.current_time(week, "/tmp/fake-root") - clock.current_time() > timedelta(days=6)
    # never a real system's delay: the shift counts only under a root prefix
    assert clock.current_time(week, "/") - clock.current_time() < timedelta(days=1)
    assert clock.current_time({clock.ENV_SHIFT: "soon"}, "/x") - clock.current_time() < timedelta(1)

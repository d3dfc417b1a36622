from __future__ import annotations

from datetime import datetime, timezone

import pytest

from telemetry_policy.testing import FakeRoot

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def root(tmp_path):
    return FakeRoot(tmp_path)


# Property tests: TELEMETRY_POLICY_EXAMPLES sets how many examples each runs.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default",
    max_examples=int(__import__("os").environ.get("TELEMETRY_POLICY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("default")

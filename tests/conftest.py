from __future__ import annotations

from datetime import datetime, timezone

import pytest

from telemetry_policy.testing import FakeRoot

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def root(tmp_path):
    return FakeRoot(tmp_path)

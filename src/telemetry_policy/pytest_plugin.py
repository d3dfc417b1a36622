"""The pytest plugin of the testing kit (entry point ``pytest11``): one fixture.

``telemetry_policy_root``: a FakeRoot in the test's temporary directory, with
``os.environ`` isolated for the test (its own HOME and XDG directories,
``TELEMETRY_POLICY_ROOT`` pointing at it, none of your ``DO_NOT_TRACK`` or
``TELEMETRY_POLICY_*``), and the library's clock put back afterwards. Your
tool's own ``resolve("mytool")`` then asks it; ``write``, ``mask``, ``set``,
``advance`` and ``compile`` shape what it finds. See ``telemetry_policy.testing``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .testing import FakeRoot


@pytest.fixture
def telemetry_policy_root(tmp_path: Path) -> Iterator[FakeRoot]:
    """A fake root and user for the test; the process's environment is theirs."""
    root = FakeRoot(tmp_path / "telemetry-policy")
    with root.isolated():
        yield root

"""platform: the root's os-release, read strictly."""

import os

import pytest

from telemetry_policy.errors import PlatformError
from telemetry_policy.platform import detect


def test_reads_id_version_and_like(root):
    root.os_release("ubuntu", "24.04", "debian")
    p = detect(str(root.path))
    assert (p.id, p.version, p.like) == ("ubuntu", "24.04", ("debian",))


def test_a_fifo_is_refused_without_blocking(root):
    (root.path / "etc").mkdir(exist_ok=True)
    os.mkfifo(root.path / "etc/os-release")
    with pytest.raises(PlatformError, match="FIFO"):
        detect(str(root.path))

"""safefs: writing under a root without following links, keeping owners and modes."""

import os

import pytest

from telemetry_policy.safefs import Root, UnsafePath


def test_writes_atomically_creating_directories_0755(tmp_path):
    r = Root(str(tmp_path))
    r.write("/etc/prog/file.conf", b"x=1\n")
    assert (tmp_path / "etc/prog/file.conf").read_bytes() == b"x=1\n"
    assert oct((tmp_path / "etc/prog").stat().st_mode & 0o777) == "0o755"
    assert r.created == ["/etc", "/etc/prog"]


def test_an_existing_file_keeps_its_mode(tmp_path):
    r = Root(str(tmp_path))
    r.write("/f", b"a")
    os.chmod(tmp_path / "f", 0o600)
    r.write("/f", b"b")
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o600


def test_a_link_on_the_way_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "etc").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePath, match="symlink"):
        Root(str(tmp_path)).write("/etc/x", b"x")
    assert not (tmp_path / "elsewhere/x").exists()

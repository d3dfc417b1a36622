"""ownfiles: the caller's own files, never through another user's link."""

import os

import pytest

from telemetry_policy.ownfiles import NotOwned, UnsafePath, read_own, user_directory


def test_reads_a_file_of_ones_own_and_nothing_else(tmp_path):
    f = tmp_path / "mine"
    f.write_text("x")
    assert read_own(str(f)) == b"x"
    assert read_own(str(tmp_path / "absent")) is None
    (tmp_path / "link").symlink_to(f)
    with pytest.raises(UnsafePath, match="symlink"):
        read_own(str(tmp_path / "link"))
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UnsafePath, match="FIFO"):
        read_own(str(tmp_path / "fifo"))  # never blocks


@pytest.mark.skipif(os.geteuid() != 0, reason="needs another user's directory")
def test_another_users_directory_is_not_ones_own(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    with pytest.raises(NotOwned), user_directory(str(theirs)):
        pass

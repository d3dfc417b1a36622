"""paths: one of each path rule (root prefix, XDG, trust, bounded reads)."""

import os

import pytest

from telemetry_policy.errors import UserStoreError
from telemetry_policy.paths import (
    absent,
    join,
    kind_of,
    read_all,
    state_path,
    store_path,
    trusted_owners,
    untrusted,
)


def test_join_puts_an_image_path_under_the_root():
    assert join("/", "/etc/x") == "/etc/x"
    assert join("/img", "/etc/x") == "/img/etc/x"
    assert join("/img", "etc/x") == "/img/etc/x"


def test_xdg_paths_ignore_relative_values_and_fall_back_to_home():
    env = {"HOME": "/home/a", "XDG_CONFIG_HOME": "relative", "XDG_STATE_HOME": "/s"}
    assert store_path(env) == "/home/a/.config/telemetry-policy/user.toml"
    assert state_path(env) == "/s/telemetry-policy/state.toml"


def test_no_home_at_all_is_a_user_store_error(monkeypatch):
    import pwd

    def missing(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", missing)
    with pytest.raises(UserStoreError, match="HOME"):
        store_path({})


def test_trust_is_root_you_or_the_images_owner(tmp_path):
    image = tmp_path / "img"
    image.mkdir()
    if os.geteuid() == 0:
        os.chown(image, 12345, 12345)
    owners = trusted_owners(str(image))
    assert {0, os.getuid()} <= owners
    if os.geteuid() == 0:
        assert 12345 in owners
    f = tmp_path / "f"
    f.write_text("")
    f.chmod(0o664)
    assert "writable by group" in untrusted("file f", f.stat(), owners)
    f.chmod(0o644)
    assert untrusted("file f", f.stat(), owners) == ""
    assert f"owned by uid {os.getuid()}" in untrusted("file f", f.stat(), frozenset({54321}))


def test_read_all_reads_one_byte_more_than_allowed(tmp_path):
    f = tmp_path / "big"
    f.write_bytes(b"x" * 100)
    fd = os.open(f, os.O_RDONLY)
    try:
        assert len(read_all(fd, 10)) == 11  # one more: too large, and says so
    finally:
        os.close(fd)


def test_absent_is_certain_only_through_plain_directories(tmp_path):
    assert absent(str(tmp_path / "no" / "such"))
    (tmp_path / "link").symlink_to(tmp_path)
    assert not absent(str(tmp_path / "link" / "no"))  # a link: the reader judges it
    assert kind_of(os.lstat(tmp_path / "link").st_mode) == "a symlink"

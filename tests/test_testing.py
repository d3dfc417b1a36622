"""The testing kit itself: what a tool author's tests rely on."""

from __future__ import annotations

import os

import pytest

from telemetry_policy import Mode, RefusedError, clock, resolve
from telemetry_policy.testing import FakeRoot


def test_isolated_is_the_fake_users_environment_and_puts_yours_back(tmp_path, monkeypatch):
    for name, value in {"DO_NOT_TRACK": "1", "TELEMETRY_POLICY_MODE": "on", "CI": "true",
                        "TELEMETRY_POLICY_DISABLE_PLUGINS": "x", "HOME": "/nonexistent",
                        "XDG_STATE_HOME": "/nonexistent/state"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    before = dict(os.environ)
    root = FakeRoot(tmp_path)
    with root.isolated():
        for name in ("DO_NOT_TRACK", "TELEMETRY_POLICY_MODE", "CI",
                     "TELEMETRY_POLICY_DISABLE_PLUGINS"):  # fmt: skip
            assert name not in os.environ
        assert os.environ["HOME"] == str(root.home)
        assert os.environ["TELEMETRY_POLICY_ROOT"] == str(root.path)
        assert os.environ["XDG_STATE_HOME"] == str(root.home / ".local/state")
        root.advance(days=3)
        assert resolve("demo", app_default="local").mode is Mode.LOCAL  # your DNT is not here
    assert dict(os.environ) == before and clock.shift == 0


def test_the_fixture_asks_the_fake_root(telemetry_policy_root):
    telemetry_policy_root.write("vendor", "policy.toml", '[policy]\npreset = "forced-off"\n')
    assert resolve("mytool", app_default="on").mode is Mode.OFF


def test_set_is_refused_above_the_ceiling_as_set_mode_is(telemetry_policy_root):
    telemetry_policy_root.write("vendor", "policy.toml", '[policy]\npreset = "local-only"\n')
    with pytest.raises(RefusedError, match="above the ceiling local"):
        telemetry_policy_root.set("mytool", "on")
    assert telemetry_policy_root.set("mytool", "off").mode is Mode.OFF


def test_advance_ends_the_upload_delay_under_a_fake_root(telemetry_policy_root):
    telemetry_policy_root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    assert not resolve("mytool").may_upload  # first seen on now: recorded in the fake home
    assert telemetry_policy_root.state_file.exists()
    telemetry_policy_root.advance(days=6, hours=23)
    assert not resolve("mytool").may_upload
    telemetry_policy_root.advance(hours=1)
    assert resolve("mytool").may_upload


def test_compile_makes_clients_answer_from_the_snapshot(telemetry_policy_root):
    telemetry_policy_root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    assert "_explain" not in resolve("mytool").__dict__
    telemetry_policy_root.compile()
    assert "_explain" in resolve("mytool").__dict__


def test_the_kits_clock_reaches_a_subprocess_under_the_test_root(telemetry_policy_root):
    import json
    import subprocess
    import sys

    root = telemetry_policy_root
    root.set("mytool", "on")

    def upload() -> bool:
        cmd = [sys.executable, "-m", "telemetry_policy.cli", "resolve", "--json", "mytool"]
        p = subprocess.run(cmd, env=root.environ(), capture_output=True, text=True, check=True)
        return json.loads(p.stdout)["may_upload"]

    assert root.environ()["TELEMETRY_POLICY_ROOT"] == str(root.path)
    assert upload() is False
    root.advance(days=7)
    assert upload() is True  # the same answer as the library's resolve()

"""The example plugin's tests, with telemetry-policy's testing kit: the
``telemetry_policy_root`` fixture gives each test a fake system and user (and
takes your own CI and DO_NOT_TRACK out of the way). Run them with the plugin
installed: ``pip install . && pytest tests``."""

from __future__ import annotations

from telemetry_policy import Mode, resolve

OPT_OUT = '[policy]\npreset = "opt-out"\n'


def test_on_a_ci_runner_nothing_leaves_the_machine(telemetry_policy_root, monkeypatch):
    telemetry_policy_root.write("vendor", "policy.toml", OPT_OUT)
    monkeypatch.setenv("CI", "true")
    d = resolve("demo")
    assert d.mode is Mode.LOCAL and not d.may_upload
    assert any(layer.name == "80-ci-runner" for layer in d.layers)


def test_elsewhere_it_changes_nothing(telemetry_policy_root, monkeypatch):
    telemetry_policy_root.write("vendor", "policy.toml", OPT_OUT)
    monkeypatch.setenv("CI", "false")
    assert resolve("demo").mode is Mode.ON


def test_it_may_only_tighten_unless_trusted(telemetry_policy_root, monkeypatch):
    telemetry_policy_root.write("vendor", "policy.toml", '[policy]\npreset = "forced-off"\n')
    monkeypatch.setenv("CI", "true")
    assert resolve("demo").mode is Mode.OFF  # its "local" never raises a forced-off

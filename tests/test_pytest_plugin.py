"""pytest_plugin: the telemetry_policy_root fixture, as a tool author uses it."""

import os

from telemetry_policy import resolve


def test_the_fixture_isolates_the_user_and_points_at_the_fake_root(telemetry_policy_root):
    assert os.environ["TELEMETRY_POLICY_ROOT"] == str(telemetry_policy_root.path)
    assert "DO_NOT_TRACK" not in os.environ
    telemetry_policy_root.write("vendor", "policy.toml", '[policy]\npreset = "forced-off"\n')
    assert resolve("mytool", app_default="on").mode == 0

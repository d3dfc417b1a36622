"""sources: the built-in sources, and calling them without pluggy."""

import sys

from conftest import NOW
from telemetry_policy.context import Context
from telemetry_policy.model import Mode
from telemetry_policy.sources import Builtins, dnt_cap, env_choice


def test_the_environment_is_read_exactly():
    assert env_choice({"TELEMETRY_POLICY_MODE": "local"}).mode is Mode.LOCAL
    bad = env_choice({"TELEMETRY_POLICY_MODE": "ON "})
    assert bad.mode is Mode.OFF and "read as off" in bad.error
    assert dnt_cap({"DO_NOT_TRACK": "false"}) is None
    assert dnt_cap({"DO_NOT_TRACK": "FALSE"}).mode is Mode.LOCAL  # loosely read would raise


def test_step_four_the_first_source_with_a_choice(root):
    root.set(None, "off")
    root.set("demo", "local")
    ctx = Context(str(root.path), root.environ(), NOW)
    choice, errors = Builtins().user_choice("demo", ctx)
    assert choice.mode is Mode.LOCAL and errors == []  # [app.demo] before [all]
    ctx = Context(str(root.path), root.environ(TELEMETRY_POLICY_MODE="on"), NOW)
    assert Builtins().user_choice("demo", ctx)[0].mode is Mode.ON  # the environment first


def test_without_a_plugin_pluggy_is_never_imported(root):
    import subprocess

    code = (
        "import sys, telemetry_policy as t; t.resolve('go'); t.resolve('demo');"
        "print('pluggy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=root.environ(), capture_output=True, text=True, cwd="/"
    )
    assert out.stdout.strip() == "False", out.stderr

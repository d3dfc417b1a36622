"""hookspecs: the hooks a plugin implements, all prefixed telemetry_policy_."""

import inspect

from telemetry_policy import hookspecs


def test_every_hook_is_prefixed_typed_and_documented():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("telemetry_policy_")]  # fmt: skip
    assert {f.__name__ for f in specs} == {
        "telemetry_policy_layers", "telemetry_policy_user_choice", "telemetry_policy_caps",
        "telemetry_policy_decided", "telemetry_policy_export_targets",
    }  # fmt: skip
    for f in specs:
        assert "When:" in f.__doc__ and "Returns:" in f.__doc__


def test_the_users_choice_is_a_firstresult_hook():
    opts = hookspecs.telemetry_policy_user_choice.telemetry_policy_spec
    assert opts["firstresult"] is True

"""plans: each program with the decision that reaches it, from one reading."""

from conftest import NOW
from telemetry_policy.catalogue import builtin
from telemetry_policy.inputs import Inputs
from telemetry_policy.model import Mode
from telemetry_policy.plans import own_environ, plans, user_decisions


def test_the_global_targets_get_the_most_any_app_may_do(root):
    root.write("admin", "policy.d/10.toml", '[policy]\npreset = "forced-off"\n'
               '[app.go]\nceiling = "on"\ndefault = "local"\n')  # fmt: skip
    inputs = Inputs(str(root.path), {}, NOW, user=False)
    targets = [t for t in builtin() if t.app in (None, "go", "dotnet")]
    found, errors = plans(inputs, targets)
    by_name = {p.target.name: p for p in found}
    assert errors == []
    assert by_name["do-not-track"].ceiling is Mode.ON  # go may: DO_NOT_TRACK is not forced
    assert by_name["dotnet"].ceiling is Mode.OFF


def test_a_users_decisions_come_from_their_files_never_the_inherited_environment(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    root.set(None, "on")
    env = root.environ(DO_NOT_TRACK="1", TELEMETRY_POLICY_MODE="off")
    assert "DO_NOT_TRACK" not in own_environ(env)
    found, errors = user_decisions(str(root.path), env, NOW, list(builtin())[:3])
    assert errors == [] and all(mode is Mode.ON for _, mode in found)

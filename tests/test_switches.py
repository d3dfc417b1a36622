"""switches: one class per kind of switch, registered in one table."""

from telemetry_policy.catalogue import KINDS, builtin
from telemetry_policy.switches import SWITCHES, Switch, owned_paths


def test_every_catalogue_kind_has_exactly_one_switch():
    assert set(SWITCHES) == set(KINDS)
    assert all(isinstance(s, Switch) for s in SWITCHES.values())
    assert {t.kind for t in builtin()} <= set(SWITCHES)


def test_apply_may_own_only_what_a_switch_declares():
    files, dirs = owned_paths(list(builtin()))
    assert "/etc/firefox/policies/policies.json" in files
    assert "/etc/systemd/system.conf.d/50-telemetry-policy.conf" in files
    assert "/etc/passwd" not in files and "/etc" in dirs
    assert not any(f.startswith("/etc/telemetry-policy") for f in files)

"""policymodel: layers and policy files as values."""

from telemetry_policy.model import Mode, Origin
from telemetry_policy.policymodel import STATUSES, Layer, PolicyFile, Setting


def test_the_main_file_sorts_before_every_dropin_and_names_order_the_rest():
    o = Origin("file", "/x")
    layers = [Layer("20-b.toml", o, "vendor"), Layer("policy.toml", o, "admin", main=True),
              Layer("10-a.toml", o, "admin")]  # fmt: skip
    assert [x.name for x in sorted(layers, key=lambda x: x.sort_key)] == [
        "policy.toml", "10-a.toml", "20-b.toml"
    ]  # fmt: skip


def test_a_layer_fails_only_when_invalid_or_refused():
    o = Origin("file", "/x")
    assert {s for s in STATUSES if Layer("x", o, "admin", s).failed} == {"invalid", "refused"}


def test_an_app_table_is_found_by_name():
    s = Setting("ceiling", Mode.LOCAL, Origin("file", "/x", 2))
    doc = PolicyFile("/x", apps=(("go", (s,)),))
    assert doc.app("go") == (s,) and doc.app("other") == ()

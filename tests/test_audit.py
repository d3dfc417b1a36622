"""audit: every path, every value's origin, each app from one reading."""

from conftest import NOW
from telemetry_policy.audit import as_json, as_text, run_audit, snapshot_status


def test_decides_the_global_and_every_named_app(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    root.write("admin", "policy.d/50-x.toml", '[app.go]\nceiling = "local"\n[app.zed]\n')
    decisions = run_audit(None, root=str(root.path), environ=root.environ(), now=NOW)
    assert [d.app for d in decisions] == [None, "go", "zed"]
    doc = as_json(decisions, str(root.path))
    assert doc["apps"]["go"]["ceiling"] == "local"
    assert "Decision for go:" in as_text(decisions, str(root.path))


def test_says_whether_the_snapshot_is_current(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    assert snapshot_status(str(root.path))[1] == "none"
    root.compile()
    assert snapshot_status(str(root.path))[1] == "current"

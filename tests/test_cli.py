"""The command line as a user types it: output, exit status, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

from telemetry_policy.policymodel import STATUSES


def cli(root, *args, env=None, **extra_env):
    environ = root.environ(**extra_env) if env is None else env
    p = subprocess.run(
        [sys.executable, "-m", "telemetry_policy.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


def tp(root, *args, **kw):
    return cli(root, "--root", str(root.path), *args, **kw)


def test_resolve_prints_the_mode_and_exits_0(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "local-only"\n')
    p = tp(root, "resolve", "demo", "--app-default", "on")
    assert (p.returncode, p.stdout, p.stderr) == (0, "local\n", "")


def test_resolve_fail_closed_still_exits_0_with_one_line_per_problem(root):
    root.write("admin", "policy.toml", '[policy]\ncieling = "off"\n')
    root.write("admin", "policy.d/10-x.toml", "[broken")
    p = tp(root, "resolve", "demo", "--app-default", "on")
    assert (p.returncode, p.stdout) == (0, "off\n")
    lines = p.stderr.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("telemetry-policy: ") for line in lines)
    assert "policy.toml:2: unknown key 'cieling'" in p.stderr


def test_resolve_json(root):
    p = tp(root, "resolve", "demo", "--app-default", "local", "--json")
    data = json.loads(p.stdout)
    assert data["schema"] == 1
    assert (data["app"], data["mode"], data["default"], data["ceiling"]) == (
        "demo",
        "local",
        "local",
        "on",
    )
    assert (data["may_collect"], data["may_upload"], data["locked"], data["errors"]) == (
        True,
        False,
        False,
        [],
    )


def test_cli_resolve_never_writes(root):
    p = cli(root, "resolve", "demo", "--app-default", "on")
    assert p.returncode == 0
    assert not (root.home / ".local").exists() and not (root.home / ".config").exists()


def test_audit_shows_every_status(root):
    root.os_release("debian", "12")
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    root.write("admin", "policy.toml", '[policy]\npreset = "opt-in"\n[app.go]\nceiling = "local"\n')
    root.write("vendor", "policy.d/10-a.toml", "[policy]\nupload_delay_days = 3\n")
    root.write("admin", "policy.d/10-a.toml", "[policy]\nupload_delay_days = 5\n")
    root.write("vendor", "policy.d/20-m.toml", '[policy]\nceiling = "off"\n')
    root.mask("admin", "policy.d/20-m.toml")
    root.write(
        "vendor", "policy.d/30-f.toml", '[policy]\nceiling = "off"\n[when]\ndistro = ["fedora"]\n'
    )
    root.write("vendor", "policy.d/40-w.toml", '[policy]\nceiling = "off"\n', mode=0o666)
    root.write("vendor", "policy.d/notes.txt", "")
    p = tp(root, "audit", "--json")
    assert p.returncode == 1  # the refused file is a problem
    data = json.loads(p.stdout)
    got = {(os.path.relpath(x["path"], root.path), x["status"]) for x in data["layers"]}
    assert got == {
        ("etc/telemetry-policy/policy.toml", "applied"),
        ("usr/lib/telemetry-policy/policy.toml", "replaced"),
        ("etc/telemetry-policy/policy.d/10-a.toml", "applied"),
        ("usr/lib/telemetry-policy/policy.d/10-a.toml", "replaced"),
        ("etc/telemetry-policy/policy.d/20-m.toml", "masked"),
        ("usr/lib/telemetry-policy/policy.d/20-m.toml", "masked"),
        ("usr/lib/telemetry-policy/policy.d/30-f.toml", "skipped"),
        ("usr/lib/telemetry-policy/policy.d/40-w.toml", "refused"),
        ("usr/lib/telemetry-policy/policy.d/notes.txt", "ignored"),
    }
    assert {x["status"] for x in data["layers"]} <= set(STATUSES)
    tiers = {x["tier"] for x in data["layers"]}
    assert tiers == {"vendor", "admin"}
    assert all("reason" in x for x in data["layers"] if x["status"] != "applied")
    assert data["platform"] == {"id": "debian", "version": "12", "like": []}
    assert {p["name"] for p in data["plugins"]} >= {"files", "env", "user-store", "do-not-track"}
    delay = next(t for t in data["trace"] if t["key"] == "upload_delay_days")
    assert delay["value"] == 5 and delay["origin"].endswith(
        "etc/telemetry-policy/policy.d/10-a.toml:2"
    )
    assert [o["value"] for o in delay["overrode"]] == [7]
    assert set(data["apps"]) == {"go"}
    assert data["mode"] == "off" and data["errors"]


def test_audit_text_for_an_app(root):
    root.write("admin", "policy.toml", '[policy]\npreset = "opt-in"\n[app.go]\nceiling = "local"\n')
    p = tp(root, "audit", "go", TELEMETRY_POLICY_MODE="on")
    assert p.returncode == 0
    assert "applied   admin   " in p.stdout or "applied  admin" in p.stdout
    assert "Decision for go:" in p.stdout
    assert "mode = local" in p.stdout and "lowered to the ceiling" in p.stdout
    assert "=> mode local, may collect: yes, may upload: no" in p.stdout


def test_validate(root, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[policy]\npreset = "opt-in"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\npreset = "opt-in"\ncieling = "off"\n')
    os.chmod(good, 0o666)  # validate checks content only
    p = cli(root, "validate", str(good))
    assert (p.returncode, p.stdout) == (0, f"{good}: ok\n")
    p = cli(root, "validate", str(good), str(bad), str(tmp_path / "missing.toml"))
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f"{bad}:3: unknown key 'cieling' in [policy]; did you mean 'ceiling'?",
        f"{tmp_path / 'missing.toml'}: No such file or directory",
    ]
    data = json.loads(cli(root, "validate", "--json", str(bad)).stdout)
    assert data["files"][0]["valid"] is False


def test_set_unset_and_refusal(root):
    path = root.write(
        "admin", "policy.toml", '[policy]\npreset = "opt-in"\n[app.go]\nceiling = "local"\n'
    )
    p = tp(root, "set", "go", "on")
    assert p.returncode == 1
    assert p.stderr == f"telemetry-policy: on is above the ceiling local for go, set by {path}:4\n"
    p = tp(root, "set", "go", "local")
    assert (p.returncode, p.stdout) == (
        0,
        f"telemetry-policy set: go: chose local in {root.user_store}, within the ceiling under "
        f"{root.path}; "
        "mode now local\n",
    )
    p = tp(root, "set", "--all", "on")
    assert p.returncode == 0
    assert tp(root, "resolve", "demo").stdout == "on\n"
    assert tp(root, "unset", "--all").returncode == 0
    assert tp(root, "resolve", "demo").stdout == "off\n"
    assert tp(root, "resolve", "go").stdout == "local\n"
    assert tp(root, "unset", "go").returncode == 0
    assert "app" not in root.user_store.read_text().split("schema")[1]


@pytest.mark.parametrize(
    "args",
    [
        ("set", "go"),
        ("set", "go", "maybe"),
        ("set", "--all", "go", "on"),
        ("unset",),
        ("resolve", "Bad App"),
        ("audit", "UPPER"),
        ("frobnicate",),
        (),
        ("resolve",),
        ("resolve", "x", "--app-default", "maybe"),
    ],
)
def test_usage_errors_exit_2_with_one_line(root, args):
    p = tp(root, *args)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_missing_root_is_a_usage_error(root, tmp_path):
    p = cli(root, "--root", str(tmp_path / "nope"), "audit")
    assert p.returncode == 2
    assert p.stderr == f"telemetry-policy: --root {tmp_path / 'nope'}: not a directory\n"


def test_env_root_and_paths(root):
    p = cli(root, "paths", TELEMETRY_POLICY_ROOT=str(root.path))
    lines = p.stdout.splitlines()
    assert lines[0] == f"vendor   {root.path}/usr/lib/telemetry-policy/policy.toml"
    assert lines[-2] == f"user     {root.user_store}"
    assert lines[-1] == f"state    {root.state_file}"


def test_set_with_an_unwritable_config_dir_is_one_clear_line(root):
    (root.home / ".config").write_text("not a directory")  # fails even for root
    p = tp(root, "set", "demo", "off")
    assert p.returncode == 1
    assert p.stderr.startswith(f"telemetry-policy: {root.user_store}: cannot write: ")
    assert len(p.stderr.splitlines()) == 1

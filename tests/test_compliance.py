"""audit --programs: each program, what the policy requires, what its switch says, and whether
it obeys."""

from __future__ import annotations

import json
import os

from conftest import run_cli

POPCON_BIN = "usr/sbin/popularity-contest"


def programs(root, **env):
    code, out, err = run_cli(root, "audit", "--programs", "--json", **env)
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
    assert found["firefox"]["complies"] is True and found["firefox"]["now"]["locked"] is True
    assert code == 0  # every installed program complies


def test_environment_switches_are_read_as_the_program_reads_them(root):
    preset(root, "opt-in")
    _, found, _ = programs(root, NEXT_TELEMETRY_DISABLED="0", YARN_ENABLE_TELEMETRY="no")
    assert found["nextjs"]["complies"] is True  # Next.js reads any non-empty value as off
    assert found["yarn"]["complies"] is False  # yarn reads only 0 or false (and fails on no)
    assert found["turbo"]["now"]["switch"] == "TURBO_TELEMETRY_DISABLED not set (its default: on)"


def test_the_users_own_choice_is_what_the_environment_must_match(root):
    preset(root, "opt-in")
    run_cli(root, "set", "--all", "on")
    _, found, _ = programs(root)
    assert found["nextjs"]["requires"]["mode"] == "on" and found["nextjs"]["complies"] is True


def test_gos_mode_file_against_the_users_decision(root):
    preset(root, "local-only")
    mode = root.home / ".config/go/telemetry/mode"
    mode.parent.mkdir(parents=True)
    mode.write_text("on 2026-01-01")
    _, found, _ = programs(root)
    assert (found["go"]["requires"]["mode"], found["go"]["complies"]) == ("local", False)
    run_cli(root, "sync", "--user", "go")
    assert programs(root)[1]["go"]["complies"] is True


def test_text_output_names_what_does_not_comply(root):
    install_popcon(root)
    preset(root, "forced-off")
    code, out, _ = run_cli(root, "audit", "--programs")
    assert code == 1
    header = "program installed the policy requires complies its own switch now"
    assert out.splitlines()[0].split() == header.split()
    assert out.splitlines()[-1].startswith(
        "1 installed program(s) do not comply: popularity-contest"
    )
    assert os.path.exists(root.path / POPCON_BIN)

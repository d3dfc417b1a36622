"""apply: every back-end written from the system's decision, owned, checked and taken back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ANOTHER_USER_CAN_RUN, PACKAGE_BUILD, run_cli
from telemetry_policy.catalogue import builtin

ENV_VARS = {t.variable: t.off for t in builtin() if t.kind == "env"}
FIREFOX = "etc/firefox/policies/policies.json"
MANAGED = "etc/chromium/policies/managed/zz-telemetry-policy.json"
RECOMMENDED = "etc/chromium/policies/recommended/zz-telemetry-policy.json"
VSCODE = "etc/vscode/policy.json"
SYSTEM_ENV = "etc/systemd/system.conf.d/50-telemetry-policy.conf"
USER_MANAGER = "etc/systemd/system/user@.service.d/50-telemetry-policy.conf"
SESSION = "var/lib/telemetry-policy/session/default.env"
MANIFEST = "var/lib/telemetry-policy/manifest.json"
SNAPSHOT = "var/cache/telemetry-policy/policy.snapshot"
UPLOAD = "datareporting.healthreport.uploadEnabled"


def install(root, *names: str) -> None:
    """Make catalogued programs installed in the fake root, as far as apply can tell
    (one of their commands in /usr/bin, or their file): apply writes a program's own
    files only while it is installed."""
    from telemetry_policy.switches import switch

    rows = {t.name: t for t in builtin()}
    for name in names or [t.name for t in builtin() if switch(t).needs_program]:
        what = rows[name].installed[0]
        path = root.path / (what.lstrip("/") if what.startswith("/") else f"usr/bin/{what}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


@pytest.fixture(autouse=True)
def _programs_installed(root):
    # every catalogued program installed, unless a test says otherwise (tests of an
    # absent program remove the marker)
    install(root)


def run(root, *argv, **env):
    """(exit status, stdout lines, stderr lines)."""
    code, out, err = run_cli(root, *argv, **env)
    return code, out.splitlines(), err


def preset(root, name, extra=""):
    root.write("admin", "policy.d/50-site.toml", f'[policy]\npreset = "{name}"\n{extra}')


def files(root) -> set[str]:
    return {
        str(p.relative_to(root.path))
        for p in root.path.rglob("*")
        if p.is_file()
        and "telemetry-policy/policy.d" not in str(p)
        and p.name != ".lock"
        and not str(p.relative_to(root.path)).startswith(("usr/bin/", "usr/sbin/"))  # installed
    }


def at(root, path) -> Path:
    return root.path / path


def read_json(root, path):
    return json.loads(at(root, path).read_text())


def environment(root, path=SYSTEM_ENV) -> dict[str, str]:
    text = at(root, path).read_text()
    line = next(x for x in text.splitlines() if x.startswith(("DefaultEnvironment=", "Unset")))
    return dict(w.split("=", 1) for w in line.split("=", 1)[1].split())


# --- What a clean system gets, and that apply is idempotent.


def test_opt_in_on_a_clean_system_reaches_every_back_end(root):
    preset(root, "opt-in")
    code, out, err = run(root, "apply")
    assert (code, err) == (0, [])
    assert files(root) == {
        FIREFOX, RECOMMENDED, SYSTEM_ENV, USER_MANAGER, SESSION, MANIFEST, SNAPSHOT,
        "var/lib/telemetry-policy/session/go",
        "etc/thunderbird/policies/policies.json",
        "etc/opt/chrome/policies/recommended/zz-telemetry-policy.json",
        "etc/opt/edge/policies/recommended/zz-telemetry-policy.json",
        "etc/netdata/.opt-out-from-anonymous-statistics",
    }  # fmt: skip
    # the default reaches programs: a default the user may change where there is one...
    pref = read_json(root, FIREFOX)["policies"]["Preferences"][UPLOAD]
    assert pref == {"Value": False, "Status": "default"}
    assert read_json(root, RECOMMENDED) == {"MetricsReportingEnabled": False}
    # ...and the opt-outs for services and for logins of users who did not choose
    assert environment(root) == ENV_VARS
    assert environment(root, USER_MANAGER) == ENV_VARS
    assert {k: v for k, v in (x.split("=") for x in at(root, SESSION).read_text().splitlines()
                              if not x.startswith("#"))} == ENV_VARS  # fmt: skip
    assert out[-1].startswith("apply: 10 changed, 0 already as the policy says")


def test_a_second_apply_changes_nothing_and_says_so(root):
    preset(root, "forced-off")
    run(root, "apply")
    before = {p: os.stat(at(root, p)) for p in files(root)}
    code, out, _ = run(root, "apply")
    assert code == 0 and out == [f"apply: nothing to change; {len(before) - 2} paths already "
                                 "as the policy says"]  # fmt: skip
    after = {p: os.stat(at(root, p)) for p in files(root)}
    assert {p: (s.st_ino, s.st_mtime_ns) for p, s in before.items()} == {
        p: (s.st_ino, s.st_mtime_ns) for p, s in after.items()
    }
    assert not [p for p in root.path.rglob("*.tmp")]  # no temporary left behind


def test_forced_off_is_mandatory_everywhere(root):
    preset(root, "forced-off")
    run(root, "apply")
    assert read_json(root, FIREFOX) == {"policies": {"DisableTelemetry": True}}
    assert read_json(root, MANAGED) == {"MetricsReportingEnabled": False}
    assert not at(root, RECOMMENDED).exists()
    assert read_json(root, VSCODE) == {"TelemetryLevel": "off"}
    assert environment(root) == ENV_VARS


def test_loosening_takes_back_only_what_apply_wrote(root):
    preset(root, "forced-off")
    run(root, "apply")
    preset(root, "opt-in")  # mandatory settings relax to recommended ones
    assert run(root, "apply")[0] == 0
    assert not at(root, MANAGED).exists() and at(root, RECOMMENDED).exists()
    assert not at(root, VSCODE).exists()  # the file was apply's alone
    assert "DisableTelemetry" not in read_json(root, FIREFOX)["policies"]
    preset(root, "opt-out")  # nothing is forbidden or discouraged
    run(root, "apply")
    # netdata's flag stays: its absence would turn netdata's statistics on
    assert files(root) == {SESSION, "var/lib/telemetry-policy/session/go", MANIFEST, SNAPSHOT,
                           NETDATA}  # fmt: skip
    assert not at(root, "etc/chromium").exists()  # directories apply made are gone too


# --- The admin's own files.


def test_the_admins_firefox_policies_are_kept_and_their_values_put_back(root):
    target = at(root, FIREFOX)
    target.parent.mkdir(parents=True)
    admin = {"policies": {"DisableTelemetry": False, "Homepage": {"URL": "https://example.org"}}}
    target.write_text(json.dumps(admin))
    preset(root, "forced-off")
    run(root, "apply")
    assert read_json(root, FIREFOX)["policies"] == {
        "DisableTelemetry": True,  # tightened: the ceiling is the admin's own policy too
        "Homepage": {"URL": "https://example.org"},
    }
    preset(root, "opt-out")
    run(root, "apply")
    # the admin's false is back, and the very bytes they wrote, formatting and all
    assert target.read_text() == json.dumps(admin)


def test_an_admins_own_disable_telemetry_is_never_taken(root):
    target = at(root, FIREFOX)
    target.parent.mkdir(parents=True)
    target.write_text('{"policies": {"DisableTelemetry": true}}')
    before = target.read_bytes()
    for name in ("forced-off", "opt-out", "forced-off"):
        preset(root, name)
        run(root, "apply")
        assert target.read_bytes() == before  # already as strict: untouched, byte for byte
    run(root, "apply", "--undo")
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    "locked",
    [{"Value": False, "Status": "locked"}, False, {"Value": True, "Status": "locked"}],
    ids=["locked", "older-plain-value-form", "locked-on"],
)
def test_an_admins_locked_preference_stays_locked(root, locked):
    target = at(root, FIREFOX)
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"policies": {"Preferences": {UPLOAD: locked}}}))
    before = target.read_bytes()
    preset(root, "opt-in")  # would recommend a default: never over an admin's value
    assert run(root, "apply")[0] == 0
    assert target.read_bytes() == before
    preset(root, "opt-out")
    run(root, "apply")
    assert target.read_bytes() == before


def test_vscode_level_is_tightened_and_restored(root):
    target = at(root, VSCODE)
    target.parent.mkdir(parents=True)
    target.write_text('{"UpdateMode": "none", "TelemetryLevel": "crash"}')
    preset(root, "local-only")
    run(root, "apply")
    assert read_json(root, VSCODE) == {"UpdateMode": "none", "TelemetryLevel": "off"}
    preset(root, "opt-in")
    run(root, "apply")
    assert read_json(root, VSCODE) == {"UpdateMode": "none", "TelemetryLevel": "crash"}


def test_chromium_policies_of_the_admin_are_untouched(root):
    mine = at(root, "etc/chromium/policies/managed/site.json")
    mine.parent.mkdir(parents=True)
    mine.write_text('{"HomepageLocation": "https://example.org"}')
    for name in ("forced-off", "opt-in", "opt-out"):
        preset(root, name)
        run(root, "apply")
    run(root, "apply", "--undo")
    assert mine.read_text() == '{"HomepageLocation": "https://example.org"}'


def test_an_environment_file_of_other_programs_is_never_rewritten(root):
    environment_file = at(root, "etc/environment")
    environment_file.parent.mkdir(parents=True, exist_ok=True)
    environment_file.write_text('LANG=C.UTF-8\nDO_NOT_TRACK=0\nPATH="/usr/bin"\n')
    before = environment_file.read_bytes()
    preset(root, "forced-off")
    run(root, "apply")
    run(root, "apply", "--undo")
    assert environment_file.read_bytes() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_shared_file_keeps_its_owner_and_mode(root):
    target = at(root, FIREFOX)
    target.parent.mkdir(parents=True)
    target.write_text('{"policies": {}}')
    os.chown(target, 1234, 2345)
    target.chmod(0o640)
    preset(root, "forced-off")
    run(root, "apply")
    st = target.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 2345, 0o640)
    assert read_json(root, FIREFOX) == {"policies": {"DisableTelemetry": True}}


# --- What apply refuses.


def test_an_unexpected_link_at_a_target_is_refused(root, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    link = at(root, VSCODE)
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)
    preset(root, "forced-off")
    code, _, err = run(root, "apply")
    assert code == 1 and err == [
        f"telemetry-policy: {link}: is a symlink; apply does not follow links it did not "
        "make; replace the link with the file it points to, or remove it"
    ]
    assert elsewhere.read_text() == "{}"
    assert read_json(root, MANAGED) == {"MetricsReportingEnabled": False}  # the rest applied


def test_a_linked_directory_is_never_followed_even_out_of_the_image(root, tmp_path):
    outside = tmp_path / "host-etc-chromium"
    outside.mkdir()
    (root.path / "etc").mkdir(exist_ok=True)
    (root.path / "etc/chromium").symlink_to(outside)  # absolute: would leave the image
    preset(root, "forced-off")
    code, _, err = run(root, "apply")
    assert code == 1 and len(err) == 1
    assert err[0] == (
        f"telemetry-policy: {root.path}/etc/chromium: is a symlink; apply does not follow "
        "links in the paths it writes; replace the link with the directory it points to"
    )
    assert list(outside.iterdir()) == []


def test_a_fifo_at_a_target_never_blocks(root):
    target = at(root, FIREFOX)
    target.parent.mkdir(parents=True)
    os.mkfifo(target)
    preset(root, "forced-off")
    cmd = [sys.executable, "-m", "telemetry_policy.cli", "--root", str(root.path), "apply"]
    p = subprocess.run(cmd, env=root.environ(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr == (
        f"telemetry-policy: {target}: is a FIFO, not a regular file; it was left as it is; "
        "remove it or move it away\n"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"policies": {"Big": 1e400}}', "number 1e400 is too large to write back"),
        ('{"policies": {"X": NaN}}', "NaN is not JSON"),
        ('{"policies": {"A": 1, "A": 2}}', "duplicate key 'A'"),
        ('{"policies": ' + '{"a": ' * 40 + "1" + "}" * 41, "nests deeper than 32 levels"),
        ('{"policies": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('["not", "an", "object"]', "holds a JSON list, not an object"),
        ('{"policies": []}', "policies is not a JSON object"),
        ('{"policies": ', "not valid JSON"),
    ],
)
def test_json_that_cannot_be_written_back_faithfully_is_refused(root, text, why):
    target = at(root, FIREFOX)
    target.parent.mkdir(parents=True)
    target.write_text(text)
    preset(root, "forced-off")
    code, _, err = run(root, "apply")
    assert code == 1 and len(err) == 1 and why in err[0], err
    assert err[0].startswith(f"telemetry-policy: {target}: ")
    assert target.read_text() == text  # not mangled
    assert read_json(root, MANAGED) == {"MetricsReportingEnabled": False}


def test_an_unreadable_manifest_stops_apply_before_it_changes_anything(root):
    preset(root, "forced-off")
    run(root, "apply")
    at(root, MANIFEST).write_text("{not json")
    preset(root, "opt-out")
    code, _, err = run(root, "apply")
    assert code == 1 and len(err) == 1
    assert "not a manifest apply can read" in err[0] and "move it away" in err[0]
    assert at(root, MANAGED).exists()  # nothing taken back without knowing what is ours


@pytest.mark.skipif(
    PACKAGE_BUILD or (os.geteuid() == 0 and not ANOTHER_USER_CAN_RUN),
    reason="runs the package as another user, who cannot run this interpreter or package",
)
def test_apply_on_the_real_system_needs_root(tmp_path):
    cmd = [sys.executable, "-m", "telemetry_policy.cli", "apply"]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2 and p.stderr.startswith(
        "telemetry-policy: apply writes system files: run it as root"
    )


# --- Check, undo, JSON, invalid policy, vendor drop-ins.


def test_check_lists_each_differing_path_and_apply_mends_a_hand_edit(root):
    preset(root, "forced-off")
    run(root, "apply")
    at(root, MANAGED).write_text('{"MetricsReportingEnabled": true}')  # an edit by hand
    code, out, _ = run(root, "apply", "--check")
    assert code == 1 and out[0] == f"would-write: {at(root, MANAGED)}"
    assert out[-1] == "apply --check: 1 path differ from the policy; run telemetry-policy apply"
    assert read_json(root, MANAGED) == {"MetricsReportingEnabled": True}  # check wrote nothing
    assert run(root, "apply")[1][0] == f"written: {at(root, MANAGED)}"
    assert run(root, "apply", "--check")[0] == 0


def test_check_as_json(root):
    preset(root, "local-only")
    code, out, _ = run(root, "apply", "--check", "--json")
    data = json.loads("\n".join(out))
    assert code == 1 and data["schema"] == 1 and data["check"] is True
    actions = {c["path"]: c["action"] for c in data["changes"]}
    assert actions[str(at(root, MANAGED))] == "would-write"
    assert actions[str(at(root, FIREFOX))] == "would-write"
    assert not at(root, MANIFEST).exists()


def test_undo_takes_everything_back_and_keeps_the_admins_files(root):
    admin_file = at(root, FIREFOX)
    admin_file.parent.mkdir(parents=True)
    admin_file.write_text('{"policies": {"Homepage": {"URL": "https://example.org"}}}')
    preset(root, "forced-off")
    run(root, "apply")
    code, out, _ = run(root, "apply", "--undo")
    assert code == 0 and out[-1].startswith("apply --undo:")
    assert files(root) == {FIREFOX, NETDATA}  # a flag file is only ever added
    assert read_json(root, FIREFOX) == {"policies": {"Homepage": {"URL": "https://example.org"}}}
    assert not at(root, "var/lib/telemetry-policy").exists()
    assert run(root, "apply", "--undo")[1] == [
        "apply --undo: 0 taken back; nothing of apply's is left"
    ]


def test_invalid_policy_fails_closed_in_every_back_end(root):
    preset(root, "opt-out", 'cieling = "on"\n')
    code, _, err = run(root, "apply")
    assert code == 1 and len(err) == 1 and "unknown key 'cieling'" in err[0]
    assert read_json(root, FIREFOX) == {"policies": {"DisableTelemetry": True}}
    assert environment(root) == ENV_VARS


def test_a_package_shipping_a_drop_in_tightens_and_its_removal_relaxes(root):
    preset(root, "opt-out")
    run(root, "apply")
    assert not at(root, MANAGED).exists()
    dropin = root.write("vendor", "policy.d/60-some-package.toml", '[policy]\nceiling = "off"\n')
    run(root, "apply")
    assert read_json(root, MANAGED) == {"MetricsReportingEnabled": False}
    dropin.unlink()
    run(root, "apply")
    assert not at(root, MANAGED).exists()


def test_per_app_policy_reaches_only_that_program(root):
    preset(root, "opt-out", '[app.chromium]\nceiling = "off"\n[app.dotnet]\ndefault = "off"\n')
    run(root, "apply")
    assert at(root, MANAGED).exists() and not at(root, FIREFOX).exists()
    assert environment(root) == {"DOTNET_CLI_TELEMETRY_OPTOUT": "1"}


# --- System programs' own files: popularity-contest's drop-in, netdata's flag.

POPCON = "etc/popularity-contest.d/zz-telemetry-policy.conf"
NETDATA = "etc/netdata/.opt-out-from-anonymous-statistics"


def test_popularity_contest_gets_a_drop_in_only_below_the_ceiling(root):
    # Its debconf answer is the admin's own choice: only the ceiling overrides it.
    conf = at(root, "etc/popularity-contest.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text('PARTICIPATE="yes"\n')
    preset(root, "opt-in")
    run(root, "apply")
    assert not at(root, POPCON).exists()
    preset(root, "local-only")
    run(root, "apply")
    assert at(root, POPCON).read_text().endswith('\nPARTICIPATE="no"\n')
    preset(root, "opt-out")
    run(root, "apply")
    assert not at(root, POPCON).exists() and conf.read_text() == 'PARTICIPATE="yes"\n'


def test_a_flag_file_someone_else_shipped_is_never_touched_or_removed(root):
    shipped = at(root, NETDATA)
    shipped.parent.mkdir(parents=True)
    shipped.write_bytes(b"")  # Debian's netdata-core ships it, as a conffile
    before = shipped.stat()
    preset(root, "forced-off")
    run(root, "apply")
    run(root, "apply", "--undo")
    after = shipped.stat()
    assert shipped.read_bytes() == b"" and (after.st_ino, after.st_mtime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
    )


def test_a_missing_flag_file_is_created_below_the_default_and_never_taken_back(root):
    # netdata reads the file's absence as yes: taking it back would turn it on, and
    # Debian's netdata-core ships that very path as a conffile
    preset(root, "opt-in")
    run(root, "apply")
    assert at(root, NETDATA).exists()
    preset(root, "opt-out")
    _, out, _ = run(root, "apply")
    assert at(root, NETDATA).exists() and any("only ever added" in line for line in out)
    assert run(root, "apply", "--undo")[0] == 0 and at(root, NETDATA).exists()


def test_an_absent_programs_directories_are_never_created(root):
    for marker in ("usr/bin", "usr/sbin"):
        for p in (root.path / marker).iterdir():
            p.unlink()  # nothing installed
    preset(root, "forced-off")
    assert run(root, "apply")[0] == 0
    absent = ("etc/opt/chrome", "etc/opt/edge", "etc/thunderbird", "etc/vscode", "etc/netdata",
              "etc/chromium", "etc/firefox", "etc/popularity-contest.d")  # fmt: skip
    for program_dir in absent:
        assert not at(root, program_dir).exists(), program_dir
    assert at(root, SYSTEM_ENV).exists()  # services' environment: ours, always
    install(root, "chromium")  # the program arrives (its package's trigger runs apply)
    assert run(root, "apply")[0] == 0
    assert at(root, MANAGED).exists() and not at(root, "etc/opt/chrome").exists()


# --- What a security review of apply found, each reproduced (it must now fail).


def _forge(root, **entries):
    path = at(root, MANIFEST)
    doc = json.loads(path.read_text())
    for field, value in entries.items():
        if isinstance(doc[field], dict):
            doc[field].update(value)
        else:
            doc[field] += value
    path.write_text(json.dumps(doc))


def test_a_forged_manifest_never_reaches_outside_the_root_or_beyond_the_paths_apply_writes(
    root, tmp_path
):
    preset(root, "forced-off")
    run(root, "apply")
    outside = tmp_path / "outside"
    (outside / "emptydir").mkdir(parents=True)
    (outside / "victim.txt").write_text("precious")
    (outside / "cfg.json").write_text('{"Other": 1}')
    policy_file = root.dir("admin") / "policy.d/50-site.toml"
    key = {"created": True, "targets": [], "keys": [{"key": ["Other"], "value": 1, "before": 2}]}
    _forge(
        root,
        files={
            "/../../outside/victim.txt": {"sha256": "x"},
            "/" + str(policy_file.relative_to(root.path)): {"sha256": "x"},
            "/etc/passwd": {"sha256": "x"},
        },
        keys={"/../../outside/cfg.json": key},
        dirs=["/../../outside/emptydir"],
    )
    preset(root, "opt-out")
    code, _, err = run(root, "apply", "--undo")
    assert code == 1 and len(err) == 5 and all("which apply never writes" in e for e in err)
    assert (outside / "victim.txt").read_text() == "precious"
    assert (outside / "cfg.json").read_text() == '{"Other": 1}'
    assert (outside / "emptydir").is_dir() and policy_file.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_manifest_someone_else_could_write_is_not_trusted(root):
    preset(root, "forced-off")
    run(root, "apply")
    os.chown(at(root, "var/lib/telemetry-policy"), 12345, 12345)
    code, _, err = run(root, "apply", "--undo")
    assert code == 1 and "is owned by uid 12345" in err[0] and "takes nothing back" in err[0]
    assert at(root, MANAGED).exists()


@pytest.mark.parametrize(
    "forged",
    [
        {"keys": {"/etc/vscode/policy.json": "str"}},
        {"dirs": [1]},
        {"files": {"/etc/chromium/policies/managed/zz-telemetry-policy.json": {"no": 1}}},
        {"keys": {"/etc/vscode/policy.json": {"keys": [{"key": [], "value": 1}]}}},
        {"keys": {"/etc/vscode/policy.json": {"keys": [{"key": [["x"]], "value": 1}]}}},
        {"keys": {"/etc/vscode/policy.json": {"keys": [{"value": 1}]}}},
        {"schema": 9},
    ],
)
def test_a_corrupt_manifest_is_one_line_and_stops_apply(root, forged):
    preset(root, "forced-off")
    run(root, "apply")
    doc = json.loads(at(root, MANIFEST).read_text())
    doc.update(forged)
    at(root, MANIFEST).write_text(json.dumps(doc))
    code, _, err = run(root, "apply")
    assert code == 1 and len(err) == 1 and "not a manifest apply can read" in err[0]


def test_a_deeply_nested_manifest_is_one_line(root):
    preset(root, "forced-off")
    run(root, "apply")
    at(root, MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run(root, "apply")
    assert code == 1 and len(err) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="setpriv needs root")
def test_no_user_can_hold_apply_up(root, tmp_path):
    preset(root, "forced-off")
    run(root, "apply")
    lock = at(root, "var/lib/telemetry-policy/.lock")
    assert oct(lock.stat().st_mode & 0o777) == "0o600" and lock.stat().st_uid == 0
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
         f"exec 3<{lock} 2>/dev/null && echo opened"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "opened" not in probe.stdout


def test_firefox_keeps_the_distributions_policies(root):
    # Firefox reads /etc/firefox/policies/policies.json *instead of* its distribution's.
    dist = at(root, "usr/lib/firefox-esr/distribution/policies.json")
    dist.parent.mkdir(parents=True)
    shipped = {"policies": {"DisableAppUpdate": True, "BlockAboutConfig": True}}
    dist.write_text(json.dumps(shipped))
    preset(root, "opt-in")
    run(root, "apply")
    doc = read_json(root, FIREFOX)["policies"]
    assert doc["DisableAppUpdate"] is True and doc["BlockAboutConfig"] is True
    assert doc["Preferences"][UPLOAD]["Status"] == "default"
    preset(root, "opt-out")
    run(root, "apply")
    assert not at(root, FIREFOX).exists()  # Firefox reads its distribution's file again


def test_chromium_policy_of_ours_sorts_after_an_admins_and_audit_reads_the_last(root):
    later = at(root, "etc/chromium/policies/managed/zzz-admin.json")
    later.parent.mkdir(parents=True)
    earlier = at(root, "etc/chromium/policies/managed/site.json")
    earlier.write_text('{"MetricsReportingEnabled": true}')
    at(root, "usr/bin/chromium").parent.mkdir(parents=True, exist_ok=True)
    at(root, "usr/bin/chromium").touch()  # installed: audit --programs judges it
    preset(root, "forced-off")
    run(root, "apply")
    assert sorted(p.name for p in later.parent.iterdir()) == [
        "site.json",
        "zz-telemetry-policy.json",
    ]
    _, out, _ = run(root, "audit", "--programs", "--all", "--json")
    chromium = next(p for p in json.loads("\n".join(out))["programs"] if p["program"] == "chromium")
    assert chromium["complies"] is True
    later.write_text('{"MetricsReportingEnabled": true}')  # sorts after ours: Chromium takes it
    _, out, _ = run(root, "audit", "--programs", "--all", "--json")
    chromium = next(p for p in json.loads("\n".join(out))["programs"] if p["program"] == "chromium")
    assert chromium["complies"] is False and "zzz-admin.json" in chromium["now"]["switch"]


def test_a_lone_surrogate_in_an_admins_file_is_written_back_as_it_was(root):
    target = at(root, FIREFOX)
    target.parent.mkdir(parents=True)
    target.write_text('{"policies": {"Note": "\\ud800"}}')
    preset(root, "forced-off")
    code, _, err = run(root, "apply")
    assert (code, err) == (0, [])
    assert json.loads(target.read_text())["policies"]["Note"] == "\ud800"
    run(root, "apply", "--undo")
    assert json.loads(target.read_text()) == {"policies": {"Note": "\ud800"}}


def test_a_file_apply_wrote_and_someone_changed_is_left_when_taken_back(root):
    preset(root, "forced-off")
    run(root, "apply")
    at(root, POPCON).write_text('PARTICIPATE="no"  # the admin keeps this\n')
    preset(root, "opt-out")
    code, out, _ = run(root, "apply")
    assert code == 0 and at(root, POPCON).exists()
    assert any("changed since apply wrote it: left as it is" in line for line in out)


def test_a_file_that_stood_at_a_path_of_apply_is_kept_and_put_back(root):
    mine = at(root, MANAGED)
    mine.parent.mkdir(parents=True)
    mine.write_text('{"HomepageLocation": "x"}')
    mine.chmod(0o640)
    preset(root, "forced-off")
    run(root, "apply")
    assert read_json(root, MANAGED) == {"MetricsReportingEnabled": False}
    assert oct(mine.stat().st_mode & 0o777) == "0o644"  # apply's own file: apply's mode
    run(root, "apply", "--undo")
    assert mine.read_text() == '{"HomepageLocation": "x"}'
    assert oct(mine.stat().st_mode & 0o777) == "0o640"

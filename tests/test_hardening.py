"""Each class of attack the security review found, reproduced: it must now fail.

docs/security.md lists the classes with the tests that cover them; the
adversarial suite (tests/test_adversarial.py) generates more of each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    ANOTHER_USER_CAN_RUN,
    AS_ANOTHER_USER,
    install_plugin,
    run_cli,
    run_client,
)
from telemetry_policy import Mode
from telemetry_policy.testing import FakeRoot

ROOT = os.geteuid() == 0
AS_ROOT = pytest.mark.skipif(not ROOT, reason="needs root (chown, setpriv)")
OTHER = 12345  # a user who is not the caller
FORCED_OFF = '[policy]\npreset = "forced-off"\n'
OPT_OUT = '[policy]\npreset = "opt-out"\n'


def tp(root, *argv, env=None, timeout=60, user=None):
    """The command as a separate process (never hangs: timeout), optionally as ``user``."""
    cmd = [sys.executable, "-m", "telemetry_policy.cli", *argv]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    p = subprocess.run(cmd, env=env or root.environ(), capture_output=True, text=True,
                       timeout=timeout, cwd="/")  # fmt: skip
    assert "Traceback" not in p.stderr, p.stderr
    return p


def one_line_errors(p) -> list[str]:
    lines = p.stderr.splitlines()
    assert all(line.startswith("telemetry-policy: ") for line in lines), p.stderr
    return lines


# --- 1. Links and masks in a directory others may write.


@pytest.mark.parametrize("kind", ["symlink to an opt-out file", "mask of the vendor file"])
def test_a_link_in_a_directory_others_may_write_is_refused(root, tmp_path, kind):
    root.write("vendor", "policy.d/10-vendor.toml", FORCED_OFF)
    runtime = root.dir("runtime") / "policy.d"
    runtime.mkdir(parents=True)
    runtime.chmod(0o1777)  # like /run/telemetry-policy/policy.d made sticky and world-writable
    if kind == "symlink to an opt-out file":
        outside = tmp_path / "opt-out.toml"
        outside.write_text(OPT_OUT)
        (runtime / "90-lift.toml").symlink_to(outside)
    else:
        (runtime / "10-vendor.toml").symlink_to("/dev/null")
    d = root.resolve("demo", app_default="on")
    assert d.mode is Mode.OFF and d.ceiling is Mode.OFF
    assert any("writable by" in e for e in d.errors)


def test_a_trusted_policy_d_in_a_writable_tier_directory_is_refused(root):
    root.write("vendor", "policy.d/10-vendor.toml", FORCED_OFF)
    root.write("runtime", "policy.d/90-x.toml", OPT_OUT)
    root.dir("runtime").chmod(0o777)  # anyone may rename policy.d away
    assert root.resolve("demo", app_default="on").mode is Mode.OFF


# --- 2. User code passing as system code.

FORGED_FILE = """
__file__ = "/usr/lib/python3.11/json/__init__.py"
from telemetry_policy import hookimpl
@hookimpl
def telemetry_policy_layers(context):
    return [("90-raise", {"policy": {"ceiling": "on", "default": "on"}})]
"""


@AS_ROOT
def test_a_module_claiming_a_system_file_is_judged_by_the_file_it_was_loaded_from(root, tmp_path):
    root.write("vendor", "policy.d/10-vendor.toml",
               FORCED_OFF + '[plugins]\ntrusted = ["raiser"]\n')  # fmt: skip
    site = tmp_path / "site"
    install_plugin(site, "raiser", FORGED_FILE)
    os.chown(site / "tp_raiser.py", OTHER, OTHER)  # a user's file, whatever it says
    data = run_client(root, site, _audit_code(root))
    assert data["mode"] == "off"
    plugin = next(p for p in data["plugins"] if p["name"] == "raiser")
    assert plugin["trusted"] is False and "owned by uid 12345" in plugin["note"]


def test_the_same_entry_point_name_twice_fails_closed(root, tmp_path):
    root.write("vendor", "policy.toml", OPT_OUT)
    system, user = tmp_path / "system", tmp_path / "user"
    install_plugin(system, "tightener", "")
    install_plugin(user, "tightener", "", dist="tp-impostor")
    env = root.environ(PYTHONPATH=f"{user}:{system}:{os.environ.get('PYTHONPATH', '')}")
    data = run_client(root, None, _audit_code(root), **{"PYTHONPATH": env["PYTHONPATH"]})
    assert data["mode"] == "off"
    assert any("'tightener' is installed twice" in e for e in data["errors"])


def _audit_code(root) -> str:
    return (
        "import sys; from telemetry_policy.cli import main; "
        f"sys.exit(main(['--root', {str(root.path)!r}, 'audit', 'demo', '--json']))"
    )


# --- 3. Caches that change the answer.

TIGHTEN = """
from telemetry_policy import hookimpl
@hookimpl
def telemetry_policy_layers(context):
    return [("90-local", {"policy": {"ceiling": "local"}})]
"""


@AS_ANOTHER_USER
def test_a_users_forged_cache_cannot_drop_a_system_plugin(open_tmp):
    root = FakeRoot(open_tmp / "image")
    root.write("vendor", "policy.toml", OPT_OUT)
    os.chown(root.path, OTHER, OTHER)  # the image is trusted for the user who audits it
    site = open_tmp / "system-site"
    install_plugin(site, "tighten", TIGHTEN)
    for path in [site, *site.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    home = open_tmp / "userhome"
    home.mkdir()
    os.chown(home, OTHER, OTHER)
    env = {"HOME": str(home), "PATH": os.environ["PATH"],
           "PYTHONPATH": f"{site}:{os.environ.get('PYTHONPATH', '')}"}  # fmt: skip
    code = (
        "import telemetry_policy as t, sys; "
        f"print(t.resolve('demo', root={str(root.path)!r}, app_default='on').mode)"
    )
    cmd = ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups",
           sys.executable, "-c", code]  # fmt: skip
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd="/")
    assert first.stdout.strip() == "local"
    from telemetry_policy.entrypoints import cache_path

    cache = Path(cache_path({"HOME": str(home)}))
    st = site.stat()
    cache.parent.mkdir(parents=True, exist_ok=True)
    # "that directory holds no plugin", with the directory's own key
    cache.write_text(
        f"telemetry-policy plugins 2\nD\t{site}\t{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}"
    )
    for path in (home / ".cache", cache.parent, cache):
        os.chown(path, OTHER, OTHER)
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd="/")
    assert again.stdout.strip() == "local"  # the system directory is read, not the cache


@AS_ROOT
def test_root_never_imports_what_a_users_cache_names(root, tmp_path):
    root.write("vendor", "policy.toml", OPT_OUT)
    marker = tmp_path / "imported"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "tp_evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    cache_dir = tmp_path / "usercache/telemetry-policy"
    cache_dir.mkdir(parents=True)
    for d in (tmp_path / "usercache", cache_dir):
        os.chown(d, OTHER, OTHER)
    import zlib

    prefix = zlib.crc32(f"{sys.prefix}\0{sys.executable}".encode())
    cache = cache_dir / f"plugins-{prefix:08x}"
    lines = ["telemetry-policy plugins 2"]
    for p in sys.path:
        if p and os.path.isabs(p):
            try:
                st = os.stat(p)
            except OSError:
                continue
            lines.append(f"D\t{p}\t{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}")
            lines.append(f"E\tevil\ttp_evil\tevil\t1\t{evil}")
    cache.write_text("\n".join(lines))
    os.chown(cache, OTHER, OTHER)
    env = root.environ(XDG_CACHE_HOME=str(tmp_path / "usercache"),
                       PYTHONPATH=f"{evil}:{os.environ.get('PYTHONPATH', '')}")  # fmt: skip
    code = "import telemetry_policy as t; print(t.resolve('demo').mode)"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    assert not marker.exists()


def test_python_m_from_a_directory_holding_a_dist_info_loads_no_plugin(root, tmp_path):
    root.write("vendor", "policy.toml", OPT_OUT)
    work = tmp_path / "work"
    install_plugin(work, "here", TIGHTEN)
    env = root.environ()
    p = subprocess.run(
        [sys.executable, "-m", "telemetry_policy.cli", "--root", str(root.path), "resolve",
         "demo", "--app-default", "on"],
        env=env, cwd=work, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.stdout == "on\n" and p.stderr == ""


def test_alternating_c_and_a_script_does_not_rescan(root, tmp_path):
    root.write("vendor", "policy.toml", OPT_OUT)
    script = tmp_path / "scripts/client.py"
    script.parent.mkdir()
    script.write_text("import telemetry_policy as t; t.resolve('demo')\n")
    env = root.environ(XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("TELEMETRY_POLICY_ROOT", None)
    runs = [[sys.executable, "-c", "import telemetry_policy as t; t.resolve('demo')"],
            [sys.executable, str(script)]]  # fmt: skip
    subprocess.run(runs[0], env=env, check=True, cwd="/")
    cache = next((tmp_path / "cache/telemetry-policy").glob("plugins-*"))
    before = cache.stat()
    for cmd in runs * 2:
        subprocess.run(cmd, env=env, check=True, cwd="/")
    after = cache.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


# --- 4. Root following a user's links.


@AS_ROOT
@pytest.mark.parametrize("trap", ["lock link", "linked directory"])
def test_root_never_writes_through_a_users_links(root, tmp_path, trap):
    config = tmp_path / "userconfig"
    (config / "telemetry-policy").mkdir(parents=True)
    target = tmp_path / "root-only" / "created-by-root"
    target.parent.mkdir()
    if trap == "lock link":
        (config / "telemetry-policy/user.toml.lock").symlink_to(target)
    else:
        (config / "telemetry-policy").rmdir()
        (config / "telemetry-policy").symlink_to(target.parent)
    for path in (config, config / "telemetry-policy"):
        os.lchown(path, OTHER, OTHER)
    p = tp(root, "--root", str(root.path), "set", "--all", "off",
           env=root.environ(XDG_CONFIG_HOME=str(config)))  # fmt: skip
    assert p.returncode == 1 and len(one_line_errors(p)) == 1
    assert not target.exists() and list(target.parent.iterdir()) == []


@AS_ROOT
def test_root_never_lowers_go_in_another_users_directory(root, tmp_path):
    config = tmp_path / "userconfig"
    (config / "go/telemetry").mkdir(parents=True)
    (config / "go/telemetry/mode").write_text("on 2026-01-01")
    for path in (config, config / "go", config / "go/telemetry", config / "go/telemetry/mode"):
        os.lchown(path, OTHER, OTHER)
    root.write("admin", "policy.d/50.toml", FORCED_OFF)
    p = tp(root, "--root", str(root.path), "sync", "--user", "go",
           env=root.environ(XDG_CONFIG_HOME=str(config)))  # fmt: skip
    # root ignores the inherited XDG_CONFIG_HOME that is another user's (sudo keeps
    # it): its own home's Go file is the one brought in line, never the user's
    assert p.returncode == 0 and str(config) not in p.stdout + p.stderr
    assert (config / "go/telemetry/mode").read_text() == "on 2026-01-01"


# --- 5. Readers that block.


@pytest.mark.parametrize("which", ["user store", "state", "plugin cache", "Go's mode file"])
def test_a_fifo_never_blocks_a_reader(root, tmp_path, which):
    root.write("vendor", "policy.toml", OPT_OUT)
    cache = tmp_path / "cache"
    path = {
        "user store": root.user_store,
        "state": root.state_file,
        "plugin cache": cache / "telemetry-policy/plugins-x",
        "Go's mode file": root.home / ".config/go/telemetry/mode",
    }[which]
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    if which == "plugin cache":
        import glob

        os.unlink(path)  # the cache's real name depends on the interpreter
        subprocess.run([sys.executable, "-c", "import telemetry_policy as t; t.resolve('x')"],
                       env={**root.environ(XDG_CACHE_HOME=str(cache))}, check=True)  # fmt: skip
        for found in glob.glob(str(cache / "telemetry-policy/plugins-*")):
            os.unlink(found)
            os.mkfifo(found)
    p = tp(root, "--root", str(root.path), "resolve", "go",
           env=root.environ(XDG_CACHE_HOME=str(cache)), timeout=30)  # fmt: skip
    assert p.returncode == 0 and p.stdout in ("off\n", "on\n")


def test_a_fifo_at_export_output_never_blocks(root, tmp_path):
    root.write("vendor", "policy.toml", FORCED_OFF)
    fifo = tmp_path / "out.env"
    os.mkfifo(fifo)
    p = tp(root, "--root", str(root.path), "export", "--format", "env", "--output", str(fifo))
    assert p.returncode == 1 and "is a FIFO" in p.stderr


# --- 6. Exceptions that escape.


DEEP = "x = " + "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("name", "setup"),
    [
        ("date 9999-12-31 in the store", lambda r: _write(r.user_store,
            '[app.go]\nmode = "on"\nsince = 9999-12-31\n')),
        ("date 9999-12-31 in the state", lambda r: _write(r.state_file,
            "[app.go]\non_since = 9999-12-31T00:00:00+00:00\n")),
        ("deep TOML in the store", lambda r: _write(r.user_store, DEEP)),
        ("deep TOML in the state", lambda r: _write(r.state_file, DEEP)),
    ],
)  # fmt: skip
def test_bad_stores_never_raise(root, name, setup):
    root.write("vendor", "policy.toml", OPT_OUT)
    setup(root)
    d = root.resolve("go", app_default="on")  # no exception
    assert not d.may_upload
    p = tp(root, "--root", str(root.path), "resolve", "go")
    assert p.returncode == 0
    assert tp(root, "--root", str(root.path), "set", "go", "on").returncode in (0, 1)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("name", "content", "mode"),
    [
        ("unclosed quote", 'ID="debian\nVERSION_ID="12"\n', 0o644),
        ("not UTF-8", b"ID=deb\xffian\n", 0o644),
        ("unreadable", "ID=debian\n", 0o600),
        ("a FIFO", None, 0),
        ("a directory", "dir", 0),
        ("missing", "missing", 0),
    ],
)
def test_an_os_release_that_cannot_be_read_fails_every_when_closed(open_tmp, name, content, mode):
    if mode == 0o600 and not ANOTHER_USER_CAN_RUN:
        pytest.skip("reads as another user, who cannot run this interpreter or package")
    root = FakeRoot(open_tmp)
    root.write("vendor", "policy.toml", OPT_OUT)
    when = '[when]\ndistro = ["debian"]\n[policy]\npreset = "opt-out"\n'
    root.write("admin", "policy.d/50-debian.toml", when)
    etc = root.path / "etc/os-release"
    etc.parent.mkdir(exist_ok=True)
    if content is None:
        os.mkfifo(etc)
    elif content == "dir":
        etc.mkdir()
    elif content != "missing":
        etc.write_bytes(content.encode() if isinstance(content, str) else content)
        etc.chmod(mode)
    user = None if mode != 0o600 or not ROOT else 65534
    if user is not None:
        os.chown(root.path, user, user)  # so the image is trusted for that user
    p = tp(root, "--root", str(root.path), "resolve", "demo", "--app-default", "on",
           timeout=30, user=user)  # fmt: skip
    assert (p.returncode, p.stdout) == (0, "off\n"), p.stderr
    assert "its [when] cannot be judged" in p.stderr


@AS_ANOTHER_USER
def test_no_home_and_no_passwd_entry(open_tmp):
    root = FakeRoot(open_tmp)
    root.write("vendor", "policy.toml", OPT_OUT)
    env = {"PATH": os.environ["PATH"]}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    os.chown(root.path, 4242, 4242)
    p = tp(root, "--root", str(root.path), "resolve", "demo", "--app-default", "on",
           env=env, user=4242)  # fmt: skip
    assert (p.returncode, p.stdout) == (0, "off\n")
    assert "no passwd entry" in p.stderr


HOSTILE = {
    "a __repr__ that raises": "class X:\n    def __repr__(self): raise RuntimeError('no')\n"
    "@hookimpl\ndef telemetry_policy_layers(context):\n    return [X()]\n",
    "a 100k-deep list": "@hookimpl\ndef telemetry_policy_layers(context):\n"
    "    x = []\n    for _ in range(100000): x = [x]\n    return [x]\n",
    "a BaseException": "class Boom(BaseException): pass\n"
    "@hookimpl\ndef telemetry_policy_layers(context):\n    raise Boom('bye')\n",
    "SystemExit": "@hookimpl\ndef telemetry_policy_user_choice(app, context):\n"
    "    raise SystemExit(0)\n",
    "an error with newlines": "@hookimpl\ndef telemetry_policy_layers(context):\n"
    "    raise ValueError('x\\ntelemetry-policy: FORGED everything is fine\\x1b[2J')\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_plugin_is_one_line_and_off(root, tmp_path, name):
    root.write("vendor", "policy.toml", OPT_OUT)
    site = tmp_path / "site"
    install_plugin(site, "hostile", "from telemetry_policy import hookimpl\n" + HOSTILE[name])
    code = (
        "import sys; from telemetry_policy.cli import main; "
        f"sys.exit(main(['--root', {str(root.path)!r}, 'resolve', 'demo', '--app-default', 'on']))"
    )
    env = root.environ(PYTHONPATH=f"{site}:{os.environ.get('PYTHONPATH', '')}")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120, cwd="/")  # fmt: skip
    assert "Traceback" not in p.stderr and p.stdout == "off\n", p.stderr
    lines = one_line_errors(p)
    assert len(lines) == 1 and "plugin 'hostile'" in lines[0] and "FORGED" not in p.stderr[:20]
    assert "\x1b" not in p.stderr


def test_file_names_that_are_not_utf8_never_break_output(root):
    directory = root.dir("admin") / "policy.d"
    directory.mkdir(parents=True)
    name = os.fsdecode(b"50-\xff.toml")  # not UTF-8 on disk
    (directory / name).write_text(OPT_OUT)
    for argv in (["audit"], ["paths"], ["audit", "--json"], ["export", "--format", "json"]):
        p = tp(root, "--root", str(root.path), *argv)
        assert p.returncode in (0, 1), p.stderr


# --- 7. The environment raising the mode.


def test_built_in_sources_cannot_be_disabled_from_the_environment(root):
    root.write("vendor", "policy.toml", OPT_OUT)
    env = root.environ(DO_NOT_TRACK="1", TELEMETRY_POLICY_DISABLE_PLUGINS="do-not-track,files")
    d = root.resolve("demo", app_default="on", environ=env)
    assert d.mode is Mode.OFF
    assert any("a built-in source, which the environment cannot disable" in e for e in d.errors)


# --- 8. Forged output lines.


def test_a_file_name_with_a_newline_prints_one_line(root):
    root.write("admin", "policy.d/50-x\ntelemetry-policy: FORGED.toml", "[policy\n")
    p = tp(root, "--root", str(root.path), "resolve", "demo")
    assert len(one_line_errors(p)) == 1 and "\\n" in p.stderr
    audit = tp(root, "--root", str(root.path), "audit")
    assert not any(
        line.startswith("telemetry-policy: FORGED") for line in audit.stdout.splitlines()
    )


# --- 9. Quadratic audit: decided from one reading, each app's trace only its own.


def test_audit_output_grows_linearly_with_the_drop_ins(tmp_path):
    sizes = []
    for n in (100, 200):
        root = FakeRoot(tmp_path / str(n))
        for i in range(n):
            text = f'[policy]\nupload_delay_days = {i % 30}\n[app.app{i}]\nceiling = "local"\n'
            root.write("admin", f"policy.d/{i:04d}.toml", text)
        code, out, _ = run_cli(root, "audit", "--json")
        assert code == 0
        data = json.loads(out)
        assert len(data["apps"]) == n
        assert all(len(t["overrode"]) <= 2 for a in data["apps"].values() for t in a["trace"])
        sizes.append(len(out))
    assert sizes[1] < 2.5 * sizes[0]  # twice the files, about twice the output (not 4x)


# --- The rest of the review.


def test_set_under_a_root_prefix_says_which_store_and_which_ceiling(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "local-only"\n')
    code, out, err = run_cli(root, "set", "demo", "on")
    assert code == 1 and "above the ceiling local" in err[0]
    code, out, _ = run_cli(root, "set", "demo", "local")
    assert code == 0 and str(root.user_store) in out and str(root.path) in out


DANGEROUS = ["PATH", "LD_PRELOAD", "BASH_ENV", "PROMPT_COMMAND", "PYTHONPATH", "GIT_SSH_COMMAND",
             "TELEMETRY_POLICY_MODE"]  # fmt: skip


@pytest.mark.parametrize("variable", DANGEROUS)
def test_a_plugins_target_may_not_set_a_variable_that_changes_what_runs(variable):
    from telemetry_policy.catalogue import Target, valid_plugin_target

    assert not valid_plugin_target(Target("x", "env", None, "X", variable, "1"), set(), set())
    assert not valid_plugin_target(Target("x", "env", None, "X", "MYTOOL_NO_TELEMETRY", 1),
                                   set(), set())  # fmt: skip
    assert valid_plugin_target(Target("x", "env", None, "X", "MYTOOL_NO_TELEMETRY", "1"),
                               set(), set())  # fmt: skip


# --- What root writes for export, apply and logins (the writes issue, case 6).


def test_export_merges_into_an_environment_file_and_keeps_every_other_line(root, tmp_path):
    root.write("admin", "policy.d/50.toml", FORCED_OFF)
    target = tmp_path / "environment"
    mine = (
        'PATH="/usr/local/bin:/usr/bin"\n# a comment\nhttp_proxy=http://proxy:3128\nLANG=C.UTF-8\n'
    )
    target.write_text(mine + "NEXT_TELEMETRY_DISABLED=0\n")
    p = tp(root, "--root", str(root.path), "export", "--format", "env", "--output", str(target))
    assert p.returncode == 0, p.stderr
    text = target.read_text()
    assert text.startswith(mine)  # what the admin wrote, in its order
    assert "NEXT_TELEMETRY_DISABLED=1\n" in text and "NEXT_TELEMETRY_DISABLED=0" not in text
    assert "DOTNET_CLI_TELEMETRY_OPTOUT=1\n" in text


@AS_ROOT
def test_root_never_exports_into_a_file_a_user_could_change(root, tmp_path):
    root.write("admin", "policy.d/50.toml", FORCED_OFF)
    target = tmp_path / "shared.env"
    target.write_text("PATH=/usr/bin\n")
    os.chown(target, OTHER, OTHER)
    target.chmod(0o666)
    p = tp(root, "--root", str(root.path), "export", "--format", "env", "--output", str(target))
    assert p.returncode == 1 and "belongs to uid 12345" in p.stderr
    assert target.read_text() == "PATH=/usr/bin\n"


@AS_ROOT
def test_root_creates_no_directory_in_a_users_home(root, tmp_path):
    root.write("admin", "policy.d/50.toml", FORCED_OFF)
    home = tmp_path / "alice"
    home.mkdir()
    os.chown(home, OTHER, OTHER)
    target = home / "new/dir/tp.env"
    p = tp(root, "--root", str(root.path), "export", "--format", "env", "--output", str(target))
    assert p.returncode == 1 and f"{home}: belongs to uid 12345" in p.stderr
    assert not (home / "new").exists()


@AS_ROOT
def test_root_applies_only_where_root_said(root, tmp_path):
    # an inherited TELEMETRY_POLICY_ROOT (sudo -E) is not where apply writes as root,
    # and a --root that runs through a link is refused
    import argparse

    from telemetry_policy.cli import Call

    args = argparse.Namespace(root=None, command="apply")
    assert Call(args, {"TELEMETRY_POLICY_ROOT": str(root.path)}).root == "/"
    link = tmp_path / "link"
    link.symlink_to(root.path)
    p = tp(root, "--root", str(link), "apply", "--check")
    assert p.returncode == 2 and "holds a symlink" in p.stderr

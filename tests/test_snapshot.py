"""The snapshot ``apply`` compiles and ``resolve()`` answering from it: the
same answer as the full resolution, whatever the system, the user and the
environment; and a stale, forged or foreign snapshot only costs time."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import AS_ANOTHER_USER, NOW, PACKAGE_BUILD, run_cli
from telemetry_policy import Mode, resolve, set_mode
from telemetry_policy.inputs import evaluate
from telemetry_policy.snapshot import PATH, load
from telemetry_policy.snapshot_build import build
from telemetry_policy.sources import ENV_DISABLE
from test_adversarial import ENVIRONS, FIFO, STORES, TREES, _system

ROOT = os.geteuid() == 0
FORCED_OFF = '[policy]\npreset = "forced-off"\n'
OPT_OUT = '[policy]\npreset = "opt-out"\n'
FIELDS = ("app", "mode", "default", "ceiling", "upload_delay_days", "may_upload", "locked",
          "choice", "on_since", "errors", "layers", "trace", "platform", "plugins")  # fmt: skip


def compile_snapshot(root) -> None:
    path = root.path / PATH.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)
    path.write_bytes(build(str(root.path)))
    os.chmod(path, 0o644)


def fields(d) -> dict:
    return {f: getattr(d, f) for f in FIELDS}


def both(root, app, env, app_default=None, now=NOW):
    """resolve() (from the snapshot) and the full resolution, each from the same state."""
    state = root.state_file
    saved = state.read_bytes() if state.exists() else None
    fast = resolve(app, root=str(root.path), environ=env, app_default=app_default, now=now)
    after_fast = state.read_bytes() if state.exists() else None
    if saved is None:
        state.unlink(missing_ok=True)
    else:
        state.write_bytes(saved)
    full = evaluate(app, root=str(root.path), environ=env, app_default=app_default, now=now,
                    record=True)  # fmt: skip
    after_full = state.read_bytes() if state.exists() else None
    assert after_fast == after_full  # the state file kept in step alike
    return fast, full


@given(TREES, STORES, ENVIRONS, st.sampled_from([None, "off", "local", "on"]),
       st.sampled_from(["demo", "other", "go"]))  # fmt: skip
def test_the_snapshot_gives_the_full_resolutions_answer(tree, store, environ, app_default, app):
    with _system(tree, store) as root:
        compile_snapshot(root)
        env = root.environ(**environ)
        fast, full = both(root, app, env, app_default)
        # The full path answers for go (Go's own mode file is a source) and when a source is
        # named to disable; a store that is not a regular file leaves its error to the full path.
        fast_path = app != "go" and not environ.get(ENV_DISABLE, "").strip(", \t")
        if store != FIFO:
            assert ("_explain" in fast.__dict__) is fast_path
        assert fields(fast) == fields(full)
        assert fast.explain() == full.explain()
        # and the same as with no snapshot at all
        (root.path / PATH.lstrip("/")).unlink()
        fast2, _ = both(root, app, env, app_default)
        assert fields(fast2) == fields(full)


def test_a_decision_from_the_snapshot_is_a_whole_decision(root):
    root.write("vendor", "policy.toml", OPT_OUT)
    root.write("admin", "policy.d/50-x.toml", "[app.demo]\nupload_delay_days = 3\n")
    compile_snapshot(root)
    d = root.resolve("demo", now=NOW)
    assert "_explain" in d.__dict__  # answered from the snapshot
    later = root.resolve("demo", now=NOW + timedelta(days=3))
    assert later.may_upload and later.on_since == NOW
    assert pickle.loads(pickle.dumps(later)) == later
    assert "upload_delay_days = 3  from" in later.explain()
    assert later.as_dict()["may_upload"] is True
    assert [layer.name for layer in later.layers] == ["policy.toml", "50-x.toml"]


def _hot(root, code: str, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter against ``root``; it prints JSON."""
    environ = root.environ(TELEMETRY_POLICY_ROOT=str(root.path), **env)
    p = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                       text=True, cwd=str(root.base), timeout=60, check=True)  # fmt: skip
    return json.loads(p.stdout)


NOT_ON_THE_HOT_PATH = ["pluggy", "tomllib", "tomli", "inspect", "typing", "re", "enum",
                       "datetime", "contextlib", "telemetry_policy.decision",
                       "telemetry_policy.policyfile", "telemetry_policy.locations"]  # fmt: skip
LOADED = (
    "import sys, json, telemetry_policy as t\n"
    "before = set(sys.modules)\n"
    "d = t.resolve({app!r}, app_default={default!r})\n"
    "print(json.dumps({{'mode': str(d.mode), 'loaded': sorted(set(sys.modules) - before)}}))\n"
)


def test_a_client_told_its_answer_loads_none_of_the_heavy_modules(root):
    root.write("vendor", "policy.toml", '[policy]\nceiling = "on"\n')
    for i in range(20):
        root.write("admin", f"policy.d/{i:02d}-x.toml", f'[app.app{i}]\nceiling = "local"\n')
    compile_snapshot(root)
    _hot(root, LOADED.format(app="demo", default="local"))  # the first start writes the
    found = _hot(root, LOADED.format(app="demo", default="local"))  # plugin cache
    assert found["mode"] == "local"
    assert not set(found["loaded"]) & set(NOT_ON_THE_HOT_PATH), found["loaded"]
    # with a choice made by `set`: still no tomllib, no pluggy
    set_mode("demo", "off", root=str(root.path), environ=root.environ(), now=NOW)
    found = _hot(root, LOADED.format(app="demo", default="local"))
    assert found["mode"] == "off"
    assert not {"tomllib", "tomli", "pluggy", "inspect"} & set(found["loaded"]), found["loaded"]
    # "on" needs the time, and nothing more
    found = _hot(root, LOADED.format(app="demo", default="on"), TELEMETRY_POLICY_MODE="on")
    assert found["mode"] == "on"
    assert not {"tomllib", "tomli", "pluggy", "inspect", "typing"} & set(found["loaded"])


def _stale_then_fresh(root, change, text: str = OPT_OUT) -> None:
    root.write("vendor", "policy.toml", text)
    compile_snapshot(root)
    assert root.resolve("demo", now=NOW).mode is Mode.ON
    change()
    d = root.resolve("demo", now=NOW)
    assert "_explain" not in d.__dict__  # the files were read
    assert d.mode is Mode.OFF, d.explain()


def test_an_edit_of_the_same_size_and_time_made_after_the_snapshot_counts(root):
    def edit():
        path = root.dir("vendor") / "policy.toml"
        st_ = path.stat()
        forced = FORCED_OFF + "#" * (len(path.read_text()) - len(FORCED_OFF))
        assert len(forced) == st_.st_size
        path.write_text(forced)
        os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))  # mtime put back: ctime tells

    _stale_then_fresh(root, edit, OPT_OUT + "#" * 8)


def test_a_drop_in_added_after_the_snapshot_counts(root):
    _stale_then_fresh(root, lambda: root.write("runtime", "policy.d/10-off.toml", FORCED_OFF))


def test_a_mask_added_after_the_snapshot_counts(root):
    def mask():
        root.mask("admin", "policy.toml")
        root.write("admin", "policy.d/10-off.toml", FORCED_OFF)

    _stale_then_fresh(root, mask)


def test_a_policy_directory_made_writable_after_the_snapshot_counts(root):
    _stale_then_fresh(root, lambda: os.chmod(root.dir("vendor"), 0o777))


def _snapshot_path(root):
    return root.path / PATH.lstrip("/")


def _forged(root) -> bytes:
    """A snapshot of this very system, but saying the layers leave "on"."""
    import marshal

    header, for_root, owners, seen, held, encoded, _, problems, platform = marshal.loads(
        build(str(root.path))
    )
    on = (2, ("file", "/forged", None), None, "")
    system = {None: (on, on, None), "demo": (on, on, None)}
    return marshal.dumps(
        (header, for_root, owners, seen, held, encoded, system, problems, platform)
    )


def test_a_snapshot_is_trusted_as_a_policy_file_is(root):
    root.write("vendor", "policy.toml", FORCED_OFF)
    compile_snapshot(root)
    _snapshot_path(root).write_bytes(_forged(root))
    # Owned by root (or you), writable by no one else: as much policy as a file
    # in /usr/lib/telemetry-policy, so only one who could write those could write it.
    assert root.resolve("demo", app_default="on", now=NOW).mode is Mode.ON


@pytest.mark.parametrize(
    "forgery",
    ["garbage", "truncated", "wrong types", "another root", "writable by others",
     "a symlink", "a FIFO", "a writable directory"],
)  # fmt: skip
def test_a_forged_or_broken_snapshot_only_costs_time(root, tmp_path, forgery):
    import marshal

    root.write("vendor", "policy.toml", FORCED_OFF)
    compile_snapshot(root)
    path = _snapshot_path(root)
    forged = _forged(root)
    if forgery == "garbage":
        path.write_bytes(b"\x00not marshal")
    elif forgery == "truncated":
        path.write_bytes(forged[: len(forged) // 2])
    elif forgery == "wrong types":
        header, for_root, owners, seen, held, encoded, _, problems, platform = marshal.loads(forged)
        system = {None: ("on", 2, "x")}  # what no compiler writes
        path.write_bytes(marshal.dumps((header, for_root, owners, seen, held, encoded, system,
                                        problems, platform)))  # fmt: skip
    elif forgery == "another root":
        other = tmp_path / "image"
        shutil.copytree(root.path, other, symlinks=True)
        (other / "usr/lib/telemetry-policy/policy.toml").write_text(OPT_OUT)
        path.write_bytes(build(str(other)))  # an opt-out image's snapshot
    elif forgery == "writable by others":
        path.write_bytes(forged)
        os.chmod(path, 0o666)
    elif forgery == "a symlink":
        (tmp_path / "snap").write_bytes(forged)
        path.unlink()
        path.symlink_to(tmp_path / "snap")
    elif forgery == "a FIFO":
        path.unlink()
        os.mkfifo(path)
    elif forgery == "a writable directory":
        path.write_bytes(forged)
        os.chmod(path.parent, 0o777)
    d = root.resolve("demo", app_default="on", now=NOW)
    assert d.mode is Mode.OFF and d.locked, d.explain()


def _as(user_argv, root, code):
    """``code`` in a fresh Python as another caller (setpriv arguments)."""
    p = subprocess.run(
        ["setpriv", *user_argv, sys.executable, "-c", code],
        env=root.environ(), capture_output=True, text=True, cwd="/", timeout=60,
    )  # fmt: skip
    assert "Traceback" not in p.stderr, p.stderr
    return p.stdout.strip()


NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"]


def _resolve_code(root) -> str:
    return (f"import telemetry_policy as t; d = t.resolve('demo', root={str(root.path)!r}); "
            "print(d.mode, len(d.errors))")  # fmt: skip


@AS_ANOTHER_USER
@pytest.mark.parametrize(
    "shape", ["mode 0600", "group bits deny the caller's group", "a directory it cannot list"]
)
def test_what_the_compiler_could_read_and_the_caller_cannot_is_read_by_the_caller(open_tmp, shape):
    """The kernel decides who may read (owner, then group, then others, then ACLs):
    a file the caller may not read fails closed for that caller, snapshot or not."""
    from telemetry_policy.testing import FakeRoot

    root = FakeRoot(open_tmp)
    root.write("vendor", "policy.toml", FORCED_OFF)
    secret = root.write("admin", "policy.d/50-open.toml", OPT_OUT, mode=0o644)
    if shape == "mode 0600":
        os.chmod(secret, 0o600)
    elif shape == "group bits deny the caller's group":
        os.chown(secret, 0, 65534)  # nobody's own group may not read; others may
        os.chmod(secret, 0o604)
    else:
        os.chmod(secret.parent, 0o711)
    compile_snapshot(root)
    assert load(str(root.path)) is not None  # usable by root, who compiled it
    os.chown(root.home, 65534, 65534)
    with_snapshot = _as(NOBODY, root, _resolve_code(root))
    _snapshot_path(root).unlink()
    assert with_snapshot == _as(NOBODY, root, _resolve_code(root)) == "off 1"
    assert secret.exists()


@AS_ANOTHER_USER
def test_root_without_its_capabilities_is_judged_as_the_kernel_judges_it(open_tmp):
    from telemetry_policy.testing import FakeRoot

    root = FakeRoot(open_tmp)
    root.write("vendor", "policy.toml", FORCED_OFF)
    root.write("admin", "policy.d/50-open.toml", OPT_OUT, mode=0o000)  # an admin's "disabled"
    compile_snapshot(root)
    no_caps = ["--bounding-set=-all", "--inh-caps=-all"]
    with_snapshot = _as(no_caps, root, _resolve_code(root))
    _snapshot_path(root).unlink()
    assert with_snapshot == _as(no_caps, root, _resolve_code(root)) == "off 1"


@AS_ANOTHER_USER
def test_what_the_compiler_could_not_read_and_the_caller_can_is_read_by_the_caller(open_tmp):
    """A user compiles the snapshot of an image they own; root reads the file they could not."""
    from telemetry_policy.testing import FakeRoot

    root = FakeRoot(open_tmp)
    root.write("vendor", "policy.toml", FORCED_OFF)
    root.write("admin", "policy.d/50-open.toml", OPT_OUT, mode=0o600)
    for path in [root.path, *root.path.rglob("*")]:
        if path.name != "50-open.toml":
            os.lchown(path, 65534, 65534)
    compile = ("from telemetry_policy.snapshot_build import build; import sys; "
               f"sys.stdout.buffer.write(build({str(root.path)!r}))")  # fmt: skip
    p = subprocess.run(["setpriv", *NOBODY, sys.executable, "-c", compile],
                       capture_output=True, cwd="/", timeout=60)  # fmt: skip
    assert p.returncode == 0, p.stderr
    path = _snapshot_path(root)
    path.parent.mkdir(parents=True)
    path.write_bytes(p.stdout)
    for made in (path, path.parent, path.parent.parent):
        os.lchown(made, 65534, 65534)
    assert root.resolve("demo", now=NOW).mode is Mode.ON  # root reads the opt-out
    assert not root.resolve("demo", now=NOW).errors


def test_a_root_written_with_a_trailing_slash_is_the_same_root(root):
    root.write("vendor", "policy.toml", OPT_OUT)
    assert run_cli(root, "--root", f"{root.path}/", "apply")[0] == 0
    assert _audit_says(root) == "current"
    from pathlib import Path

    d = resolve("demo", root=Path(root.path), environ=root.environ(), now=NOW)
    assert d.mode is Mode.ON and not d.errors and "_explain" in d.__dict__


needs_squashfs = pytest.mark.skipif(
    not ROOT or PACKAGE_BUILD or shutil.which("mksquashfs") is None,
    reason="mounts a squashfs image: root and squashfs-tools",
)


@needs_squashfs
def test_an_image_swapped_for_one_with_the_same_times_is_seen(tmp_path):
    """squashfs stores no change time: a rebuilt image can repeat inode, size and
    every time. On a read-only file system the snapshot compares what it read."""
    from telemetry_policy.testing import FakeRoot

    src = tmp_path / "src/lib/telemetry-policy"
    src.mkdir(parents=True)
    policy = src / "policy.toml"
    images = []
    for preset in ("local-only", "forced-off"):  # the same size
        policy.write_text(f'[policy]\npreset = "{preset}"\n')
        image = tmp_path / f"{preset}.img"
        subprocess.run(["mksquashfs", str(tmp_path / "src"), str(image), "-quiet", "-noappend",
                        "-all-root", "-mkfs-time", "1700000000", "-all-time", "1700000000"],
                       check=True, capture_output=True)  # fmt: skip
        images.append(image)
    root = FakeRoot(tmp_path / "root")
    usr = root.path / "usr"
    usr.mkdir()
    mounted = subprocess.run(["mount", "-o", "loop,ro", str(images[0]), str(usr)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a squashfs image here: {mounted.stderr.strip()}")
    try:
        compile_snapshot(root)
        assert root.resolve("demo", app_default="on", now=NOW).mode is Mode.LOCAL
        subprocess.run(["umount", str(usr)], check=True)
        subprocess.run(["mount", "-o", "loop,ro", str(images[1]), str(usr)], check=True)
        d = root.resolve("demo", app_default="on", now=NOW)
        assert d.mode is Mode.OFF, d.explain()
        assert "_explain" not in d.__dict__  # the files were read
    finally:
        subprocess.run(["umount", str(usr)], capture_output=True)


def _audit_says(root) -> str:
    _, out, _ = run_cli(root, "audit", "--json")
    return json.loads(out)["snapshot"]["status"]


def test_apply_keeps_the_snapshot_in_step(root):
    root.write("vendor", "policy.toml", OPT_OUT)
    assert _audit_says(root) == "none"
    assert run_cli(root, "apply")[0] == 0
    assert load(str(root.path)) is not None
    assert _audit_says(root) == "current"
    root.write("admin", "policy.d/10-off.toml", FORCED_OFF)
    assert load(str(root.path)) is None  # stale: not used
    assert _audit_says(root) == "stale"
    assert "`telemetry-policy apply` compiles it again" in run_cli(root, "audit")[1]
    assert run_cli(root, "apply")[0] == 0
    assert load(str(root.path)) is not None
    assert root.resolve("demo", app_default="on", now=NOW).mode is Mode.OFF
    assert run_cli(root, "apply", "--undo")[0] == 0
    assert not _snapshot_path(root).exists() and not _snapshot_path(root).parent.exists()


@pytest.mark.parametrize(
    "shape", ["missing directory", "missing file", "a file on the way", "a link on the way",
              "another user's link on the way", "the file"],
)  # fmt: skip
def test_a_certain_absence_is_one_read_own_would_find(tmp_path, shape):
    """``absent`` lets a client skip reading its store only where ``read_own``
    would find nothing: it never hides a file, nor a reason to refuse one."""
    from telemetry_policy.errors import PolicyError
    from telemetry_policy.ownfiles import read_own
    from telemetry_policy.paths import absent

    home = tmp_path / "home"
    home.mkdir()
    target = home / ".config/telemetry-policy/user.toml"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if shape == "missing file":
        target.parent.mkdir(parents=True)
    elif shape == "a file on the way":
        (home / ".config").write_text("")
    elif shape in ("a link on the way", "another user's link on the way"):
        (home / ".config").symlink_to(elsewhere)
        if shape.startswith("another") and ROOT:
            os.lchown(home / ".config", 12345, 12345)
    elif shape == "the file":
        target.parent.mkdir(parents=True)
        target.write_text('[all]\nmode = "off"\n')
    try:
        found: object = read_own(str(target))
    except PolicyError as e:
        found = e
    if absent(str(target)):
        assert found is None
    assert absent(str(target)) is (shape in ("missing directory", "missing file"))


@given(STORES, ENVIRONS, st.sampled_from([None, "off", "local", "on"]))
def test_with_no_policy_at_all_resolve_answers_without_reading_anything(store, environ, default):
    # the library arrived as a dependency and nobody wrote policy: no directory, no snapshot
    with _system({}, store) as root:
        env = root.environ(**environ)
        fast, full = both(root, "demo", env, default)
        assert fields(fast) == fields(full)
        assert fast.explain() == full.explain() and fast.layers == full.layers == ()


def test_with_no_policy_a_client_loads_none_of_the_heavy_modules(root):
    found = _hot(root, LOADED.format(app="demo", default="local"))
    found = _hot(root, LOADED.format(app="demo", default="local"))
    assert found["mode"] == "local"
    assert not set(found["loaded"]) & set(NOT_ON_THE_HOT_PATH), found["loaded"]

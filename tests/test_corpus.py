"""A corpus of named bad inputs, each with its expected one-line error and exit status.

Every case starts from a system whose vendor policy alone answers ``on``
(opt-out), adds one bad input and runs the real command in its own process.
The command must exit with the documented status, print exactly the expected
line on stderr (the file, and the line where there is one, what is wrong, what
to do), never a traceback, and answer ``off`` where the input is system policy
or the user's store: bad input only ever lowers telemetry. Cases that write
check that nothing the user wrote is lost.

Running as root, the cases about unreadable files drop the capability to
bypass permissions (``setpriv``), as an ordinary user has none.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import PACKAGE_BUILD
from telemetry_policy.testing import FakeRoot

ROOT = os.geteuid() == 0
OPT_OUT = '[policy]\npreset = "opt-out"\n'
ADMIN = "{root}/etc/telemetry-policy/policy.d"
STORE = "{home}/.config/telemetry-policy/user.toml"
APP_NAME_HINT = r"use 1-64 of a-z 0-9 \. _ -, starting with a letter or digit"


@dataclass
class Case:
    name: str
    setup: Callable[[FakeRoot], dict[str, str] | None]
    error: str | None  # regex for the one stderr line, after "telemetry-policy: "
    argv: tuple[str, ...] = ("resolve", "demo")
    code: int = 0
    stdout: str | None = "off\n"
    root_arg: bool = True  # pass --root ROOT before argv
    needs_root: bool = False  # chown, mknod or mount
    unprivileged: bool = False  # must not bypass file permissions
    store_kept: bool = False  # the user store is byte for byte as before
    marks: list[pytest.MarkDecorator] = field(default_factory=list)


def admin(name: str, data: str | bytes, mode: int = 0o644) -> Callable[[FakeRoot], None]:
    def setup(root: FakeRoot) -> None:
        root.write("admin", f"policy.d/{name}", data, mode)

    return setup


def in_admin(make: Callable[[Path], object]) -> Callable[[FakeRoot], None]:
    def setup(root: FakeRoot) -> None:
        directory = root.dir("admin") / "policy.d"
        root.write("admin", "policy.d/00-keep.toml", "")
        make(directory)

    return setup


def env(**values: str) -> Callable[[FakeRoot], dict[str, str]]:
    return lambda root: values


def store(text: str | bytes, mode: int = 0o644) -> Callable[[FakeRoot], None]:
    def setup(root: FakeRoot) -> None:
        path = root.user_store
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        path.chmod(mode)

    return setup


def _many_dropins(root: FakeRoot) -> None:
    for i in range(10_000):
        data = "[policy\n" if i == 5_000 else '[policy]\nceiling = "on"\n'
        root.write("admin", f"policy.d/{i:05d}-x.toml", data)


def _symlink(target: str) -> Callable[[Path], None]:
    return lambda d: (d / "50-link.toml").symlink_to(target)


def _outside(mode: int, text: str) -> Callable[[FakeRoot], None]:
    def setup(root: FakeRoot) -> None:
        srv = root.path / "srv/policy"
        srv.mkdir(parents=True)
        srv.chmod(mode)
        (srv / "outside.toml").write_text(text)
        (srv / "outside.toml").chmod(0o644)
        in_admin(_symlink("/srv/policy/outside.toml"))(root)

    return setup


def _writable_dir(mode: int) -> Callable[[FakeRoot], None]:
    def setup(root: FakeRoot) -> None:
        root.write("admin", "policy.d/50-ok.toml", '[policy]\nceiling = "on"\n')
        (root.dir("admin") / "policy.d").chmod(mode)

    return setup


def _other_owner(root: FakeRoot) -> None:
    path = root.write("admin", "policy.d/50-theirs.toml", OPT_OUT)
    os.chown(path, 12345, 12345)


def _socket(d: Path) -> None:
    cwd = os.getcwd()
    os.chdir(d)  # a relative name: AF_UNIX paths are short
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind("50-socket.toml")
    finally:
        os.chdir(cwd)


def _readonly_home(root: FakeRoot) -> None:
    store('[app.demo]\nmode = "off"\n')(root)
    root.user_store.parent.chmod(0o555)


D = re.escape(ADMIN) + "/"
S = re.escape(STORE)

CASES = [
    # Policy files: content.
    Case("invalid-toml", admin("50-bad.toml", "[policy\n"), D + r"50-bad\.toml:1: not valid TOML: .+; fix the syntax"),
    Case("wrong-type", admin("50-bad.toml", '[policy]\nupload_delay_days = "7"\n'), D + r"50-bad\.toml:2: upload_delay_days must be a whole number from 0 to 365, not '7'"),
    Case("out-of-range", admin("50-bad.toml", "[policy]\nupload_delay_days = 400\n"), D + r"50-bad\.toml:2: upload_delay_days must be a whole number from 0 to 365, not 400"),
    Case("unknown-key", admin("50-bad.toml", "[policy]\nfoo = 1\n"), D + r"50-bad\.toml:2: unknown key 'foo' in \[policy\]; allowed: .+"),
    Case("misspelt-key", admin("50-bad.toml", '[policy]\ncieling = "off"\n'), D + r"50-bad\.toml:2: unknown key 'cieling' in \[policy\]; did you mean 'ceiling'\?"),
    Case("unknown-preset", admin("50-bad.toml", '[policy]\npreset = "opt-maybe"\n'), D + r"50-bad\.toml:2: unknown preset 'opt-maybe'; use one of: forced-off, local-only, opt-in, local-first, opt-out"),
    Case("invalid-app-name-in-file", admin("50-bad.toml", '[app.Bad]\nceiling = "off"\n'), D + r"50-bad\.toml:1: invalid app name 'Bad'; .+"),
    Case("table-twice", admin("50-bad.toml", "[policy]\n[policy]\n"), D + r"50-bad\.toml:2: not valid TOML: .+; fix the syntax"),
    Case("when-wrong-type", admin("50-bad.toml", "[when]\ndistro = 3\n"), D + r"50-bad\.toml:2: \[when\] distro must be a list of strings, not a number; .+"),
    Case("huge-value", admin("50-bad.toml", '[policy]\npreset = "' + "x" * 500_000 + '"\n'), D + r"50-bad\.toml:2: unknown preset 'x{56}\.\.\.; use one of: .+"),
    Case("schema-2", admin("50-bad.toml", "schema = 2\n"), D + r"50-bad\.toml:1: unsupported schema 2; this version of telemetry-policy reads schema = 1"),
    Case("non-utf8", admin("50-bad.toml", b'[policy]\npreset = "opt-\xff"\n'), D + r"50-bad\.toml:2: file is not UTF-8 text; save it as UTF-8"),
    Case("bom", admin("50-bad.toml", b"\xef\xbb\xbf" + OPT_OUT.encode()), D + r"50-bad\.toml:1: file starts with a byte-order mark; save it as UTF-8 without BOM"),
    Case("nul-bytes", admin("50-bad.toml", b"[policy]\x00\n"), D + r"50-bad\.toml:1: not valid TOML: .+; fix the syntax"),
    Case("two-mib", admin("50-bad.toml", "#" * (2 << 20)), D + r"50-bad\.toml: file is larger than 1024 KiB; a policy file is a few lines of TOML: check what was written there"),
    Case("deep-arrays", admin("50-bad.toml", "x = " + "[" * 10_000 + "]" * 10_000), D + r"50-bad\.toml: not valid TOML: nested too deeply; .+"),
    Case("deep-tables", admin("50-bad.toml", "x = " + "{a = " * 5_000 + "1" + "}" * 5_000), D + r"50-bad\.toml: not valid TOML: nested too deeply; .+"),
    Case("ten-thousand-dropins", _many_dropins, D + r"05000-x\.toml:1: not valid TOML: .+; fix the syntax"),
    # Policy files: what is in policy.d, and who may write it.
    Case("fifo", in_admin(lambda d: os.mkfifo(d / "50-fifo.toml")), D + r"50-fifo\.toml: not a regular file \(a FIFO\); only regular files are read: remove or rename it"),
    Case("socket", in_admin(_socket), D + r"50-socket\.toml: not a regular file \(a socket\); .+"),
    Case("char-device", in_admin(lambda d: os.mknod(d / "50-dev.toml", 0o644 | 0o020000, os.makedev(1, 3))), D + r"50-dev\.toml: not a regular file \(a character device\); .+", needs_root=True),
    Case("directory", in_admin(lambda d: (d / "50-dir.toml").mkdir()), D + r"50-dir\.toml: not a regular file \(a directory\); .+"),
    Case("symlink-loop", in_admin(_symlink("50-link.toml")), D + r"50-link\.toml: too many levels of symlinks at " + D + r"50-link\.toml \(a loop\?\); fix or remove the link"),
    Case("dangling-symlink", in_admin(_symlink("nowhere.toml")), D + r"50-link\.toml: " + D + r"nowhere\.toml does not exist \(dangling symlink\); remove the link or fix its target"),
    Case("symlink-outside-followed", _outside(0o755, '[policy]\nceiling = "local"\n'), None, stdout="local\n"),
    Case("symlink-outside-world-writable-dir", _outside(0o1777, OPT_OUT), D + r"50-link\.toml: directory \{root\}/srv/policy is writable by group and others \(mode 1777\); run chmod go-w on it"),
    Case("world-writable-file", admin("50-w.toml", OPT_OUT, 0o666), D + r"50-w\.toml: file is writable by group and others \(mode 0666\); run chmod go-w on it"),
    Case("group-writable-file", admin("50-w.toml", OPT_OUT, 0o664), D + r"50-w\.toml: file is writable by group \(mode 0664\); run chmod go-w on it"),
    Case("world-writable-dir", _writable_dir(0o757), D + r"50-ok\.toml: directory " + D[:-1] + r" is writable by others \(mode 0757\); run chmod go-w on it"),
    Case("group-writable-dir", _writable_dir(0o775), D + r"50-ok\.toml: directory " + D[:-1] + r" is writable by group \(mode 0775\); run chmod go-w on it"),
    Case("other-owner", _other_owner, D + r"50-theirs\.toml: file is owned by uid 12345, not root or you; run chown root on it if it is meant to be policy", needs_root=True),
    # The root prefix.
    Case("missing-root-option", lambda r: None, r"--root /nonexistent: not a directory", argv=("--root", "/nonexistent", "resolve", "demo"), root_arg=False, code=2, stdout=""),
    Case("root-env-missing", env(TELEMETRY_POLICY_ROOT="/nonexistent"), r"root /nonexistent is not a directory; give an image's directory, or unset TELEMETRY_POLICY_ROOT", root_arg=False),
    Case("root-env-relative", env(TELEMETRY_POLICY_ROOT="relative/dir"), r"root 'relative/dir' is not an absolute path; .+", root_arg=False),
    Case("root-env-control-chars", env(TELEMETRY_POLICY_ROOT="\x01\x1b[31m"), r"root '\\x01\\x1b\[31m' is not an absolute path; .+", root_arg=False),
    # The environment.
    Case("mode-env-garbage", env(TELEMETRY_POLICY_MODE="yes"), r"TELEMETRY_POLICY_MODE='yes' is not off, local or on; read as off"),
    Case("mode-env-control-chars", env(TELEMETRY_POLICY_MODE="on\x1b[2J"), r"TELEMETRY_POLICY_MODE='on\\x1b\[2J' is not off, local or on; read as off"),
    Case("mode-env-not-lowercase", env(TELEMETRY_POLICY_MODE="ON "), r"TELEMETRY_POLICY_MODE='ON ' is not off, local or on; read as off"),
    Case("do-not-track-garbage", env(DO_NOT_TRACK="maybe"), None, stdout="local\n"),  # set, so honoured: at most local
    Case("do-not-track-uppercase-false", env(DO_NOT_TRACK="FALSE"), None, stdout="local\n"),  # not exactly false: at most local
    # The command line.
    Case("app-name-traversal", lambda r: None, r"invalid app name '\.\./etc': " + APP_NAME_HINT, argv=("resolve", "../etc"), code=2, stdout=""),
    Case("app-name-empty", lambda r: None, r"invalid app name '': " + APP_NAME_HINT, argv=("resolve", ""), code=2, stdout=""),
    Case("app-name-too-long", lambda r: None, r"invalid app name 'a{65}': " + APP_NAME_HINT, argv=("set", "a" * 65, "off"), code=2, stdout=""),
    Case("app-name-unicode", lambda r: None, r"invalid app name 'ünï': " + APP_NAME_HINT, argv=("set", "ünï", "on"), code=2, stdout=""),
    Case("app-name-option-like", lambda r: None, r"invalid app name '-x': " + APP_NAME_HINT, argv=("resolve", "--", "-x"), code=2, stdout=""),
    Case("unknown-option", lambda r: None, r"unrecognized arguments: --bogus \(see --help\)", argv=("resolve", "--bogus", "demo"), code=2, stdout=""),
    Case("set-unknown-mode", lambda r: None, r"unknown mode 'maybe': use off, local or on", argv=("set", "demo", "maybe"), code=2, stdout=""),
    # The user's store.
    Case("store-invalid-toml", store('[app.demo]\nmode = "on"\n[app.x\n'), S + r": not valid TOML: .+; fix or remove it \(it holds only your own choices\); read as off"),
    Case("store-unknown-mode", store('[app.demo]\nmode = "yes"\n'), S + r": \[app\.demo\] has unknown mode 'yes'; fix or remove that part \(mode is off, local or on\); read as off"),
    Case("store-unreadable", store('[app.demo]\nmode = "on"\n', 0o000), S + r": cannot read: Permission denied; fix its permissions \(chmod u\+rw\) or remove it; read as off", unprivileged=True),
    Case("set-with-invalid-store", store('[app.demo]\nmode = "on"\n[app.x\n'), S + r": not valid TOML: .+; fix or remove it \(it holds only your own choices\)", argv=("set", "other", "local"), code=1, stdout="", store_kept=True),
    Case("set-with-unreadable-store", store('[app.demo]\nmode = "on"\n', 0o000), S + r": cannot read: Permission denied; .+", argv=("set", "other", "local"), code=1, stdout="", unprivileged=True, store_kept=True),
    Case("set-in-read-only-home", _readonly_home, S + r": cannot write: Permission denied; .+", argv=("set", "demo", "local"), code=1, stdout="", unprivileged=True, store_kept=True),
]  # fmt: skip


def _run(case: Case, root: FakeRoot, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [*(["--root", str(root.path)] if case.root_arg else []), *case.argv]
    cmd = [sys.executable, "-m", "telemetry_policy.cli", *argv]
    if case.unprivileged and ROOT:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=root.environ(**extra),
        cwd=str(root.base),
        timeout=60,  # a FIFO or a device must never block
    )


def _prepare(case: Case, tmp_path: Path) -> tuple[FakeRoot, dict[str, str]]:
    if case.needs_root and not ROOT:
        pytest.skip("needs root (chown, mknod or mount)")
    if case.unprivileged and ROOT and shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's permission override")
    root = FakeRoot(tmp_path)
    root.write("vendor", "policy.d/10-vendor.toml", OPT_OUT)
    return root, case.setup(root) or {}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path):
    root, extra = _prepare(case, tmp_path)
    before = root.user_store.read_bytes() if case.store_kept and ROOT else None
    if case.store_kept and not ROOT:
        before = _read_as_owner(root.user_store)
    p = _run(case, root, extra)
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == case.code, p.stderr
    if case.stdout is not None:
        assert p.stdout == case.stdout
    lines = p.stderr.splitlines()
    if case.error is None:
        assert lines == []
    else:
        assert len(lines) == 1, p.stderr
        pattern = case.error.replace(re.escape("{root}"), re.escape(str(root.path)))
        pattern = pattern.replace(re.escape("{home}"), re.escape(str(root.home)))
        assert re.fullmatch("telemetry-policy: " + pattern, lines[0]), lines[0]
    if case.store_kept:
        root.user_store.chmod(0o644)
        assert root.user_store.read_bytes() == before


def _read_as_owner(path: Path) -> bytes:
    mode = path.stat().st_mode
    path.chmod(0o644)
    try:
        return path.read_bytes()
    finally:
        path.chmod(mode)


SYSTEM_CASES = [c for c in CASES if c.error and c.error.startswith(D)]


@pytest.mark.parametrize("case", SYSTEM_CASES, ids=[c.name for c in SYSTEM_CASES])
def test_audit_reports_the_same_line_and_exits_1(case, tmp_path):
    root, extra = _prepare(case, tmp_path)
    p = _run(Case(case.name, case.setup, case.error, argv=("audit", "demo")), root, extra)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    error = case.error.replace(re.escape("{root}"), re.escape(str(root.path)))
    assert re.search(r"^  error: " + error + "$", p.stdout, re.M), p.stdout
    assert "=> mode off," in p.stdout


@pytest.fixture
def full_home(tmp_path):
    """A home whose config directory is a full 64 KiB tmpfs (root only)."""
    if not ROOT or PACKAGE_BUILD:
        pytest.skip("needs root to mount a small tmpfs (never in a package build)")
    root = FakeRoot(tmp_path)
    config = root.home / ".config"
    config.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(config)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(config)], check=True)


def test_set_on_a_full_home_keeps_the_previous_store(full_home):
    root = full_home
    root.write("vendor", "policy.d/10-vendor.toml", OPT_OUT)
    store('[app.demo]\nmode = "off"\n')(root)
    before = root.user_store.read_bytes()
    with open(root.user_store.parent.parent / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass  # full
    case = Case("full", lambda r: None, None, argv=("set", "other", "local"))
    p = _run(case, root, {})
    assert p.returncode == 1 and "Traceback" not in p.stderr
    line = (
        f"telemetry-policy: {root.user_store}: cannot write: No space left on device; "
        "nothing was changed; free space or fix permissions and retry"
    )
    assert p.stderr.splitlines() == [line]
    assert root.user_store.read_bytes() == before
    leftovers = [p.name for p in root.user_store.parent.iterdir()]
    assert sorted(leftovers) == ["user.toml", "user.toml.lock"]  # no half-written file

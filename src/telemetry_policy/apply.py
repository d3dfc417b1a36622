"""``telemetry-policy apply``: the system's decision, written into every
program's own switch, and taken back when the policy relaxes.

Like ``update-crypto-policies``: regenerate every back-end from the policy,
compare with what is on disk, and write what differs (``--check`` only
reports it). What apply wrote is recorded in a manifest,
``/var/lib/telemetry-policy/manifest.json``: whole files it owns (and a copy
of whatever file stood there before), keys it owns inside files shared with
the admin (with what the admin had there before), and the directories it
created. Only what the manifest lists is ever taken back, so nothing an admin
wrote is lost, unlocked or loosened; ``--undo`` takes everything back (the
packages' removal runs it).

The manifest is trusted only as far as it could not have been forged: it
and its directory must be root's (or the caller's, for an image) and
writable by no one else, and every path in it must be one apply itself can
write; anything else in it is reported and never touched.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from .catalogue import Plan
from .errors import describe
from .model import Record
from .safefs import MAX_READ, Root, UnsafePath
from .switches import (
    MANIFEST,
    STATE_DIR,
    SWITCHES,
    Desired,
    OwnedFile,
    OwnedKey,
    desired,
    jsonpolicy,
    owned_paths,
    switch,
)

MANIFEST_SCHEMA = 2
LOCK = f"{STATE_DIR}/.lock"
SAVED = f"{STATE_DIR}/saved"
_SYSTEMD = ("/etc/systemd/system.conf.d/", "/etc/systemd/system/")


class Change(Record):
    """What apply did (or, with --check, would do) to one path."""

    path: str  # as shown on this machine (root prefix included)
    action: str  # written, updated, removed, restored; would-write, would-update, would-remove
    targets: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # shared files: the keys set or taken back

    @property
    def drift(self) -> bool:
        return self.action.startswith("would-")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "action": self.action}
        out["targets"] = list(self.targets)
        if self.keys:
            out["keys"] = list(self.keys)
        return out


class Outcome(Record):
    changes: tuple[Change, ...]
    current: tuple[str, ...]  # paths already as the policy says
    errors: tuple[str, ...]
    manifest: str
    notes: tuple[str, ...] = ()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _label(key: Sequence[str]) -> str:
    return ".".join(k if k.replace("_", "").isalnum() else json.dumps(k) for k in key)


# --- The manifest: trusted only as far as it could not be forged.


def _owned_by_root(r: Root, path: str) -> None:
    """Refuse ``path`` unless root (or, for an image, the caller) owns it and no one
    else may write it: a user who could write the manifest could make root remove
    what it names."""
    st = r.lstat(path)
    if st is None:
        return
    owners = {0, os.geteuid()}
    if stat.S_ISLNK(st.st_mode) or st.st_uid not in owners or st.st_mode & 0o022:
        raise UnsafePath(
            r.shown(path),
            f"is owned by uid {st.st_uid} (mode {stat.S_IMODE(st.st_mode):04o}): a manifest "
            "someone else could write is not trusted",
            "make it root's (chown root, chmod go-w) or move it away; apply takes nothing back",
        )


def _plain(path: object) -> bool:
    return (
        isinstance(path, str)
        and path.startswith("/")
        and "\0" not in path
        and len(path) < 4096
        and all(p not in ("", ".", "..") for p in path[1:].split("/"))
    )


def _check_key_entry(entry: object) -> None:
    if not isinstance(entry, dict) or "value" not in entry:
        raise ValueError("a key entry is not an object with a value")
    key = entry.get("key")
    if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
        raise ValueError("a key is not a list of names")
    made = entry.get("created", [])
    if not isinstance(made, list) or not all(
        isinstance(m, list) and m and all(isinstance(k, str) for k in m) for m in made
    ):
        raise ValueError("a key's created parents are not lists of names")


def _check_manifest(doc: object) -> dict[str, Any]:
    """The manifest's shape, every field; raises ValueError naming the first problem."""
    if not isinstance(doc, dict) or doc.get("schema") != MANIFEST_SCHEMA:
        raise ValueError(f"not schema {MANIFEST_SCHEMA}")
    files, keys, dirs = doc.get("files"), doc.get("keys"), doc.get("dirs")
    if not isinstance(files, dict) or not isinstance(keys, dict) or not isinstance(dirs, list):
        raise ValueError("files, keys and dirs are missing or of the wrong type")
    for entry in files.values():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ValueError("a file entry has no sha256")
        saved = entry.get("saved")
        if saved is not None and not (
            isinstance(saved, dict)
            and all(isinstance(saved.get(k), int) for k in ("mode", "uid", "gid"))
        ):
            raise ValueError("a saved file's mode and owner are not numbers")
    for entry in keys.values():
        if not isinstance(entry, dict) or not isinstance(entry.get("keys"), list):
            raise ValueError("a shared file's entry has no list of keys")
        targets = entry.get("targets", [])
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ValueError("a shared file's targets are not names")
        for k in entry["keys"]:
            _check_key_entry(k)
        for field in ("original", "seeded"):
            if field in entry and not isinstance(entry[field], str):
                raise ValueError(f"a shared file's {field} is not text")
    if not all(isinstance(d, str) for d in dirs):
        raise ValueError("a directory is not a path")
    return doc


def load_manifest(
    r: Root, allowed: set[str], dirs_allowed: set[str]
) -> tuple[dict[str, Any], list[str]]:
    """What apply owns under the root (empty if it never ran), and the entries it
    refused: a manifest apply cannot read stops it (UnsafePath)."""
    empty: dict[str, Any] = {"schema": MANIFEST_SCHEMA, "files": {}, "keys": {}, "dirs": []}
    _owned_by_root(r, STATE_DIR)
    _owned_by_root(r, MANIFEST)
    data = r.read(MANIFEST)
    if data is None:
        return empty, []
    try:
        doc = _check_manifest(json.loads(data))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise UnsafePath(
            r.shown(MANIFEST),
            f"not a manifest apply can read ({str(e)[:80] or type(e).__name__})",
            "move it away and run apply again: without it, apply takes nothing back",
        ) from None
    refused = []
    for field, ok in (("files", allowed), ("keys", allowed)):
        for path in list(doc[field]):
            if not _plain(path) or path not in ok:
                refused.append(path)
                del doc[field][path]
    for path in list(doc["dirs"]):
        if not _plain(path) or path not in dirs_allowed:
            refused.append(path)
            doc["dirs"].remove(path)
    errors = [
        f"{r.shown(MANIFEST)}: lists {str(p)[:200]!r}, which apply never writes; left alone"
        for p in refused
    ]
    return doc, errors


# --- One run.


class _Run:
    """One apply (or check, or undo) under one root."""

    def __init__(self, root: str, check: bool) -> None:
        self.r = Root(root)
        self.check = check
        self.changes: list[Change] = []
        self.current: list[str] = []
        self.errors: list[str] = []
        self.notes: list[str] = []

    def note(
        self, path: str, action: str, targets: Sequence[str], keys: Sequence[str] = ()
    ) -> None:
        if self.check:
            verb = {"written": "write", "updated": "update", "restored": "restore"}
            action = "would-" + verb.get(action, "remove")
        self.changes.append(Change(self.r.shown(path), action, tuple(targets), tuple(keys)))

    def file(self, want: OwnedFile, entry: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """Make ``want`` true; returns its manifest entry (None: not ours after all).

        A file that stood there before and is not apply's is kept in SAVED and
        put back when apply takes its own file back."""
        r = self.r
        data = r.read(want.path)
        mine: dict[str, Any] = {"sha256": _digest(want.data)}
        if want.flag:
            mine["flag"] = True  # its absence is the program's "yes": only ever added
        if entry is not None and "saved" in entry:
            mine["saved"] = entry["saved"]
        if data == want.data and entry is not None:
            self.current.append(r.shown(want.path))
            return mine
        if data is not None and entry is None:
            st = r.lstat(want.path)
            assert st is not None
            if not self.check:
                r.write(SAVED + want.path, data, 0o600, keep=False)
            mine["saved"] = {"mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            self.notes.append(
                f"{r.shown(want.path)} was not apply's: kept in {r.shown(SAVED + want.path)}, "
                "and put back when apply takes its own file back"
            )
        if not self.check:
            r.write(want.path, want.data, want.mode, keep=False)
        self.note(want.path, "written", want.targets)
        return mine

    def take_back(self, path: str, entry: Mapping[str, Any]) -> None:
        """Remove a file apply wrote (putting back what stood there before), if it
        is still what apply wrote; either way apply owns it no more."""
        r = self.r
        data = r.read(path)
        saved = entry.get("saved")
        if data is not None and _digest(data) != entry["sha256"]:
            where = f"; the file before it is in {r.shown(SAVED + path)}" if saved else ""
            self.notes.append(f"{r.shown(path)} changed since apply wrote it: left as it is{where}")
            return
        if entry.get("flag"):  # removing it would turn the program's telemetry on
            self.notes.append(f"{r.shown(path)}: a flag file is only ever added; left as it is")
            return
        package = _packaged(r.root, path) if data is not None and not saved else ""
        if package:  # a package's file now (netdata's conffile): never ours to remove
            self.notes.append(f"{r.shown(path)} belongs to the package {package} now; left")
            return
        if saved:
            before = r.read(SAVED + path)
            if before is not None:
                if not self.check:
                    owner = (saved["uid"], saved["gid"])
                    r.write(path, before, saved["mode"], keep=False, owner=owner)
                    r.remove(SAVED + path)
                self.note(path, "restored", ())
                return
        if data is not None:
            if not self.check:
                r.remove(path)
            self.note(path, "removed", ())

    def shared(
        self,
        path: str,
        wanted: Sequence[OwnedKey],
        owned: Mapping[str, Any],
        seeds: Sequence[str],
    ) -> Mapping[str, Any] | None:
        """Reconcile the keys apply owns in one shared JSON file; returns the new
        ownership entry (None: nothing owned).

        The entry keeps the admin's file as it was before apply first changed
        it (``original``): when every key is taken back and the document is
        again what the admin wrote, those very bytes are put back. A file
        apply creates starts from ``seeds``, the first that exists: Firefox
        reads /etc/firefox/policies/policies.json *instead of* its
        distribution's policies.json, so that one's policies are carried over.
        (Longer than most: taking back, seeding and putting the admin's bytes back
        are one reconciliation of one file.)"""
        r, shown = self.r, self.r.shown(path)
        data = r.read(path)
        seeded = owned.get("seeded")
        seed_doc: dict[str, Any] | None = None
        if data is None and wanted:
            for seed in seeds:
                seed_data = _read_resolved(r.root, seed)
                if seed_data is not None:
                    seed_doc, seeded = jsonpolicy.load(seed_data, r.shown(seed)), seed
                    break
        doc = (
            seed_doc
            if seed_doc is not None
            else ({} if data is None else jsonpolicy.load(data, shown))
        )
        before = copy.deepcopy(doc) if data is not None else {}
        owned_keys = {tuple(e["key"]) for e in owned.get("keys", [])}
        entries = jsonpolicy.reconcile(doc, wanted, owned.get("keys", []), shown)
        now_keys = {tuple(e["key"]) for e in entries}
        keys = tuple(_label(k) for k in sorted(now_keys ^ owned_keys))
        targets = tuple(sorted({w.target for w in wanted} | set(owned.get("targets", []))))
        created = bool(owned.get("created", data is None))
        original = owned.get("original", None if data is None else data.decode())
        result = jsonpolicy.dump(doc)
        if (
            not entries
            and original is not None
            and doc == jsonpolicy.load(original.encode(), shown)
        ):
            result = original.encode()  # the admin's own bytes, formatting and all
        if created and not entries and (not doc or _is_seed(r, seeded, doc)):
            if data is not None:
                if not self.check:
                    r.remove(path)
                self.note(path, "removed", targets, keys)
            return None
        if doc != before or (data is not None and result != data and not entries):
            if not self.check:
                r.write(path, result)
            self.note(path, "written" if data is None else "updated", targets, keys)
        elif entries:
            self.current.append(shown)
        if not entries:
            return None
        entry: dict[str, Any] = {"created": created, "targets": sorted({w.target for w in wanted}),
                                 "keys": entries}  # fmt: skip
        if original is not None and not created:
            entry["original"] = original
        if seeded:
            entry["seeded"] = seeded
        return entry


def _read_resolved(root: str, path: str) -> bytes | None:
    """A file a program reads (links followed inside the root, as it would), or None."""
    from .locations import _Unusable, chase
    from .paths import READ_FLAGS, join, read_all

    try:
        real = join(root, chase(root, path))
        fd = os.open(real, READ_FLAGS)
    except (_Unusable, OSError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return read_all(fd, MAX_READ)
    finally:
        os.close(fd)


def _packaged(root: str, path: str) -> str:
    """The package that ships ``path`` under ``root`` (dpkg or rpm), or ''."""
    import shutil
    import subprocess

    asks = []
    if shutil.which("dpkg-query") and os.path.exists(os.path.join(root, "var/lib/dpkg/status")):
        admin = [] if root == "/" else [f"--admindir={os.path.join(root, 'var/lib/dpkg')}"]
        asks.append(["dpkg-query", *admin, "-S", path])
    if shutil.which("rpm") and os.path.isdir(os.path.join(root, "var/lib/rpm")):
        asks.append(["rpm", *([] if root == "/" else ["--root", root]), "-qf", path])
    for cmd in asks:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                               env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        found = p.stdout.strip()
        if p.returncode == 0 and found and "not owned" not in found:
            return found.split(":")[0] if cmd[0] == "dpkg-query" else found.splitlines()[0]
    return ""


def _is_seed(r: Root, seeded: str | None, doc: Mapping[str, Any]) -> bool:
    """Whether ``doc`` is just the distribution's policies apply copied in."""
    if not seeded:
        return False
    data = _read_resolved(r.root, seeded)
    try:
        return data is not None and jsonpolicy.load(data, seeded) == doc
    except UnsafePath:
        return False


def apply(
    root: str,
    environ: Mapping[str, str],
    now: datetime,
    *,
    check: bool = False,
    undo: bool = False,
) -> Outcome:
    """Write (or, with ``check``, compare) every back-end; ``undo`` takes all back."""
    root = os.path.normpath(root)  # one root, one snapshot: /img/ is /img
    run = _Run(root, check)
    with _locked(run.r, check):
        return _apply(run, root, environ, now, undo)


@contextlib.contextmanager
def _locked(r: Root, check: bool) -> Iterator[None]:
    """One apply at a time (a dpkg trigger and the path unit may coincide). The
    lock is a file only root may open: no user can hold apply up."""
    if check:
        yield
        return
    import fcntl

    with r.directory(STATE_DIR, create=True) as dfd:
        assert dfd is not None
        _owned_by_root(r, STATE_DIR)
        name = os.path.basename(LOCK)
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dfd)  # fmt: skip
        try:
            os.fchmod(fd, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _apply(run: _Run, root: str, environ: Mapping[str, str], now: datetime, undo: bool) -> Outcome:
    from .catalogue import builtin, installed
    from .plans import system_plans

    check = run.check
    r = run.r
    wanted: list[Desired] = []
    targets = list(builtin())
    plans: list[Plan] = []
    if not undo:
        plans, errors = system_plans(root, environ, now)
        run.errors += errors
        targets = [p.target for p in plans]
        # a program's own files only while it is installed: its directories and the files
        # its package ships are never created before it (it gets them when it arrives:
        # the packages' file triggers on its paths run apply)
        wanted = desired(
            [p for p in plans if not switch(p.target).needs_program or installed(p.target, root)]
        )
    allowed, dirs_allowed = owned_paths(targets)
    dirs_allowed |= {SAVED} | {SAVED + d for d in dirs_allowed}  # where earlier files are kept
    manifest, refused = load_manifest(r, allowed | {w.path for w in wanted}, dirs_allowed)
    run.errors += refused
    files: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    wanted_files = {w.path: w for w in wanted if isinstance(w, OwnedFile)}
    seeds = {t.path: switch(t).seeds(t) for t in targets}
    for path, entry in sorted(manifest["files"].items()):
        if path not in wanted_files:
            _guarded(run, path, lambda p=path, e=entry: run.take_back(p, e), entry, files)
    for path, want in wanted_files.items():
        old = manifest["files"].get(path)
        if want.flag and old is None and _present(run, path):
            continue  # another's file already says it (a package's conffile): never ours
        _guarded(run, path, lambda w=want, o=old: run.file(w, o), old, files)
    wanted_keys: dict[str, list[OwnedKey]] = {}
    for w in wanted:
        if isinstance(w, OwnedKey):
            wanted_keys.setdefault(w.path, []).append(w)
    for path in sorted(set(manifest["keys"]) | set(wanted_keys)):
        old = manifest["keys"].get(path, {})
        _guarded(
            run, path,
            lambda p=path, o=old: run.shared(p, wanted_keys.get(p, []), o, seeds.get(p, ())),
            old or None, keys,
        )  # fmt: skip
    # accounts that never log in (root) and new users (/etc/skel): their own files
    for kind in dict.fromkeys(SWITCHES.values()):
        mine = [p for p in plans if p.target.kind in kind.kinds]
        done = kind.accounts(root, mine, now, check, undo)
        run.notes += done.notes
        run.errors += done.errors
        for inside in done.paths:
            run.note(inside, "written", tuple(t.name for t in targets if t.kind in kind.kinds))
    dirs = sorted(set(manifest["dirs"]) | set(r.created), key=len, reverse=True)
    if not check:  # deepest first: a parent may empty once its child is gone
        dirs = [d for d in dirs if not _unused(r, d, files, keys)]
    new = {"schema": MANIFEST_SCHEMA, "files": files, "keys": keys, "dirs": sorted(dirs)}
    _record(run, manifest, new)
    if not check:
        _snapshot(run, root, undo)
    if not check and root == "/" and any(c.path.startswith(_SYSTEMD) for c in run.changes):
        run.notes += _daemon_reload()
    return Outcome(
        tuple(run.changes), tuple(run.current), tuple(run.errors), r.shown(MANIFEST),
        tuple(run.notes),
    )  # fmt: skip


def _guarded(run: _Run, path: str, step: Any, old: Any, into: dict[str, Any]) -> None:
    """Run one path's step; whatever goes wrong there, the others still run and
    what apply owns stays recorded."""
    try:
        entry = step()
    except UnsafePath as e:
        run.errors.append(str(e))
        entry = old
    except Exception as e:
        run.errors.append(f"{run.r.shown(path)}: {describe(e)}; it was left as it is")
        entry = old
    if entry:
        into[path] = entry


def _present(run: _Run, path: str) -> bool:
    try:
        found = run.r.lstat(path) is not None
    except UnsafePath as e:
        run.errors.append(str(e))
        return True  # unknown: leave it
    if found:
        run.current.append(run.r.shown(path))
    return found


def _unused(r: Root, directory: str, files: Mapping[str, Any], keys: Mapping[str, Any]) -> bool:
    """A directory apply created that nothing of its own needs any more, removed if empty."""
    inside = directory.rstrip("/") + "/"
    if directory == STATE_DIR or any(p.startswith(inside) for p in [*files, *keys]):
        return False
    try:
        return r.rmdir(directory)
    except UnsafePath:
        return False


def _record(run: _Run, old: Mapping[str, Any], new: dict[str, Any]) -> None:
    """Write the manifest when it changed; after an undo, remove it and the state dir."""
    if run.check or new == old:
        return
    try:
        if not new["files"] and not new["keys"]:
            run.r.remove(MANIFEST)
            run.r.remove(LOCK)
            for leftover in sorted({*new["dirs"], SAVED, STATE_DIR}, key=len, reverse=True):
                run.r.rmdir(leftover)
        else:
            text = json.dumps(new, indent=2, sort_keys=True) + "\n"
            run.r.write(MANIFEST, text.encode(), 0o644, keep=False)
    except UnsafePath as e:
        run.errors.append(str(e))


def _snapshot(run: _Run, root: str, undo: bool) -> None:
    """Write the snapshot (``snapshot_build``) when it changed; ``undo`` removes it.

    A cache, not a back-end: not in the manifest, never a change, not checked
    by --check (a stale one only costs a client the time to parse)."""
    from . import snapshot
    from .snapshot_build import build

    r = run.r
    try:
        if undo:
            r.remove(snapshot.PATH)
            r.rmdir(os.path.dirname(snapshot.PATH))
            return
        data = build(root)
        try:
            same = r.read(snapshot.PATH, 16 * MAX_READ) == data
        except UnsafePath:
            same = False  # not a regular file of its own: replaced (never followed)
        if not same:
            r.write(snapshot.PATH, data, 0o644, keep=False)
    except UnsafePath as e:
        run.errors.append(f"{e}; clients parse the policy files themselves (only slower)")


def _daemon_reload() -> list[str]:
    """New system services (and user managers) start with the new environment."""
    import subprocess

    if not os.path.isdir("/run/systemd/system"):
        return []
    try:
        subprocess.run(["systemctl", "daemon-reload"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return [f"systemctl daemon-reload failed ({e}); run it to start services afresh"]
    return ["systemctl daemon-reload: services started from now on get the new environment"]


def summary(outcome: Outcome, check: bool, undo: bool) -> str:
    """The last line apply prints."""
    changed = len(outcome.changes)
    current = len(outcome.current)
    if check:
        if not changed:
            return f"apply --check: everything is as the policy says ({current} paths)"
        return (
            f"apply --check: {changed} path{'s' if changed > 1 else ''} differ from the "
            "policy; run telemetry-policy apply"
        )
    if undo:
        return f"apply --undo: {changed} taken back; nothing of apply's is left"
    if not changed:
        return f"apply: nothing to change; {current} paths already as the policy says"
    return (
        f"apply: {changed} changed, {current} already as the policy says; "
        f"recorded in {outcome.manifest}"
    )

"""``telemetry-policy apply``: the system's decision, written into every
program's own switch, and taken back when the policy relaxes.

Like ``update-crypto-policies``: regenerate every back-end from the policy,
compare with what is on disk, and write what differs (``--check`` only
reports it). What apply wrote is recorded in a manifest,
``/var/lib/telemetry-policy/manifest.json``: whole files it owns, keys it owns
inside files shared with the admin (with what the admin had there before),
and the directories it created. Only what the manifest lists is ever taken
back, so nothing an admin wrote is lost, unlocked or loosened; ``--undo``
takes everything back (the packages' removal runs it).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from .model import Record
from .safefs import Root, UnsafePath
from .switches import MANIFEST, STATE_DIR, Desired, OwnedFile, OwnedKey, desired, jsonpolicy

MANIFEST_SCHEMA = 1
_SYSTEMD = ("/etc/systemd/system.conf.d/", "/etc/systemd/system/")


class Change(Record):
    """What apply did (or, with --check, would do) to one path."""

    path: str  # as shown on this machine (root prefix included)
    action: str  # written, updated, removed; would-write, would-update, would-remove
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


def load_manifest(r: Root) -> dict[str, Any]:
    """What apply owns under the root; an empty manifest if it never ran."""
    data = r.read(MANIFEST)
    if data is None:
        return {"schema": MANIFEST_SCHEMA, "files": {}, "keys": {}, "dirs": []}
    try:
        doc: dict[str, Any] = json.loads(data)
        if (
            doc.get("schema") != MANIFEST_SCHEMA
            or not isinstance(doc.get("files"), dict)
            or not isinstance(doc.get("keys"), dict)
            or not isinstance(doc.get("dirs"), list)
        ):
            raise ValueError("unexpected content")
    except (ValueError, AttributeError, UnicodeDecodeError) as e:
        raise UnsafePath(
            r.shown(MANIFEST),
            f"not a manifest apply can read ({str(e)[:60]})",
            "move it away and run apply again: without it, apply takes nothing back",
        ) from None
    return doc


def _label(key: Sequence[str]) -> str:
    return ".".join(k if k.replace("_", "").isalnum() else json.dumps(k) for k in key)


class _Run:
    """One apply (or check, or undo) under one root."""

    def __init__(self, root: str, check: bool) -> None:
        self.r = Root(root)
        self.check = check
        self.changes: list[Change] = []
        self.current: list[str] = []
        self.errors: list[str] = []

    def note(
        self, path: str, action: str, targets: Sequence[str], keys: Sequence[str] = ()
    ) -> None:
        if self.check:
            action = "would-" + {"written": "write", "updated": "update"}.get(action, "remove")
        self.changes.append(Change(self.r.shown(path), action, tuple(targets), tuple(keys)))

    def file(self, want: OwnedFile) -> bool:
        """Make ``want`` true; returns whether it is (or would be) in place."""
        try:
            if self.r.read(want.path) == want.data:
                self.current.append(self.r.shown(want.path))
                return True
            if not self.check:
                self.r.write(want.path, want.data, want.mode)
            self.note(want.path, "written", want.targets)
            return True
        except UnsafePath as e:
            self.errors.append(str(e))
            return False

    def take_back(self, path: str, targets: Sequence[str]) -> bool:
        try:
            if self.r.lstat(path) is None:
                return True
            if not self.check:
                self.r.remove(path)
            self.note(path, "removed", targets)
            return True
        except UnsafePath as e:
            self.errors.append(str(e))
            return False

    def shared(
        self, path: str, wanted: Sequence[OwnedKey], owned: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """Reconcile the keys apply owns in one shared JSON file; returns the new
        ownership entry (None: nothing owned), or ``owned`` unchanged on error.

        The entry keeps the admin's file as it was before apply first changed
        it (``original``): when every key is taken back and the document is
        again what the admin wrote, those very bytes are put back."""
        shown = self.r.shown(path)
        try:
            data = self.r.read(path)
            doc = {} if data is None else jsonpolicy.load(data, shown)
            before = copy.deepcopy(doc)
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
            if created and not entries and not doc:
                if data is not None:
                    if not self.check:
                        self.r.remove(path)
                    self.note(path, "removed", targets, keys)
                return None
            if doc != before or (data is not None and result != data and not entries):
                if not self.check:
                    self.r.write(path, result)
                self.note(path, "written" if data is None else "updated", targets, keys)
            elif entries:
                self.current.append(shown)
        except UnsafePath as e:
            self.errors.append(str(e))
            return owned or None
        if not entries:
            return None
        entry = {"created": created, "targets": sorted({w.target for w in wanted}),
                 "keys": entries}  # fmt: skip
        if original is not None and not created:
            entry["original"] = original
        return entry


def apply(
    root: str,
    environ: Mapping[str, str],
    now: datetime,
    *,
    check: bool = False,
    undo: bool = False,
) -> Outcome:
    """Write (or, with ``check``, compare) every back-end; ``undo`` takes all back."""
    run = _Run(root, check)
    with _locked(run.r, check):
        return _apply(run, root, environ, now, undo)


@contextlib.contextmanager
def _locked(r: Root, check: bool) -> Iterator[None]:
    """One apply at a time (a dpkg trigger and the path unit may coincide)."""
    if check:
        yield
        return
    import fcntl

    with r.directory(STATE_DIR, create=True) as fd:
        assert fd is not None
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield


def _apply(run: _Run, root: str, environ: Mapping[str, str], now: datetime, undo: bool) -> Outcome:
    from .catalogue import system_plans

    check = run.check
    r = run.r
    manifest = load_manifest(r)  # raises UnsafePath: nothing is done without it
    wanted: list[Desired] = []
    if not undo:
        plans, errors = system_plans(root, environ, now)
        run.errors += errors
        wanted = desired(plans)
    files: dict[str, str] = {}
    keys: dict[str, Any] = {}
    wanted_files = {w.path: w for w in wanted if isinstance(w, OwnedFile)}
    for path, digest in sorted(manifest["files"].items()):
        if path not in wanted_files and not run.take_back(path, ()):
            files[path] = digest  # still ours: try again next time
    for path, want in wanted_files.items():
        if want.flag and path not in manifest["files"] and _present(run, path):
            continue  # another's file already says it (a package's conffile): never ours
        if run.file(want):
            files[path] = _digest(want.data)
        elif path in manifest["files"]:
            files[path] = manifest["files"][path]
    wanted_keys: dict[str, list[OwnedKey]] = {}
    for w in wanted:
        if isinstance(w, OwnedKey):
            wanted_keys.setdefault(w.path, []).append(w)
    for path in sorted(set(manifest["keys"]) | set(wanted_keys)):
        entry = run.shared(path, wanted_keys.get(path, []), manifest["keys"].get(path, {}))
        if entry is not None:
            keys[path] = entry
    dirs = sorted(set(manifest["dirs"]) | set(r.created), key=len, reverse=True)
    if not check:  # deepest first: a parent may empty once its child is gone
        dirs = [d for d in dirs if not _unused(r, d, files, keys)]
    new = {"schema": MANIFEST_SCHEMA, "files": files, "keys": keys, "dirs": sorted(dirs)}
    _record(run, manifest, new)
    notes: tuple[str, ...] = ()
    if not check and root == "/" and any(c.path.startswith(_SYSTEMD) for c in run.changes):
        notes += _daemon_reload()
    return Outcome(
        tuple(run.changes), tuple(run.current), tuple(run.errors), r.shown(MANIFEST), notes
    )


def _present(run: _Run, path: str) -> bool:
    try:
        found = run.r.lstat(path) is not None
    except UnsafePath as e:
        run.errors.append(str(e))
        return True  # unknown: leave it
    if found:
        run.current.append(run.r.shown(path))
    return found


def _unused(r: Root, directory: str, files: Mapping[str, str], keys: Mapping[str, Any]) -> bool:
    """A directory apply created that nothing of its own needs any more, removed if empty."""
    inside = directory.rstrip("/") + "/"
    if directory == STATE_DIR or any(p.startswith(inside) for p in [*files, *keys]):
        return False
    return r.rmdir(directory)


def _record(run: _Run, old: Mapping[str, Any], new: dict[str, Any]) -> None:
    """Write the manifest when it changed; after an undo, remove it and the state dir."""
    if run.check or new == old:
        return
    try:
        if not new["files"] and not new["keys"]:
            run.r.remove(MANIFEST)
            for leftover in sorted({*new["dirs"], STATE_DIR}, key=len, reverse=True):
                run.r.rmdir(leftover)
        else:
            run.r.write(MANIFEST, (json.dumps(new, indent=2, sort_keys=True) + "\n").encode())
    except UnsafePath as e:
        run.errors.append(str(e))


def _daemon_reload() -> tuple[str, ...]:
    """New system services (and user managers) start with the new environment."""
    import subprocess

    if not os.path.isdir("/run/systemd/system"):
        return ()
    try:
        subprocess.run(["systemctl", "daemon-reload"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return (f"systemctl daemon-reload failed ({e}); run it to start services afresh",)
    return ("systemctl daemon-reload: services started from now on get the new environment",)


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

"""``telemetry-policy export``: one back-end of the system's decision, printed
(or written to a place of your choosing).

``apply`` writes every back-end in its system place and takes back what it
wrote; ``export`` shows what it writes for one kind of switch, for review or
for a place apply does not know (a container image's environment file, a
second browser profile). A file written with ``--output`` is not recorded in
apply's manifest: it is only ever tightened, never taken back.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Sequence
from typing import Any

from .catalogue import Plan, Target
from .safefs import Root, UnsafePath
from .switches import SWITCHES, OwnedFile, OwnedKey, jsonpolicy, switch, wants
from .switches.base import Export

#: ``--format``: every kind of switch's formats, and json (every program).
FORMATS = (*(f for s in dict.fromkeys(SWITCHES.values()) for f in s.formats), "json")


class Change:
    """What an export did (or, with --check, would do) to one file."""

    def __init__(self, path: str, action: str) -> None:
        self.path = path
        self.action = action

    @property
    def drift(self) -> bool:
        return self.action.startswith("would-")


def row(plan: Plan) -> dict[str, Any]:
    """One target of ``export --format json``: its decision and what it is told."""
    t = plan.target
    level = wants(plan)
    return {
        "target": t.name,
        "kind": t.kind,
        "app": t.app,
        "tool": t.tool,
        "default": str(plan.default),
        "ceiling": str(plan.ceiling),
        "level": level or None,
        "writes": switch(t).writes(plan),
        "reads": t.reads,
        "local_becomes": t.local,
        "source": t.source,
    }


def export(
    fmt: str, plans: list[Plan], output: str | None, check: bool
) -> tuple[str, list[Change]]:
    """Render ``fmt``; write it to ``output`` if given. Returns (stdout text, changes)."""
    path = None if output is None else os.path.abspath(output)
    if fmt == "json":
        text = json.dumps({"schema": 1, "targets": [row(p) for p in plans]}, indent=2) + "\n"
        files: tuple[OwnedFile, ...] = () if path is None else (OwnedFile(path, text.encode(), ()),)
        found = Export(text, files)
    else:
        kind = next(s for s in SWITCHES.values() if fmt in s.formats)
        found = kind.export([p for p in plans if p.target.kind in kind.kinds], fmt, path)
    if path is None:
        return found.text, []
    r = Root("/")
    _may_write(r, path)
    changes: list[Change] = []
    if found.lines_into:
        changes += _merge_lines(r, found.lines_into, found.lines, found.text, check)
    if found.shared:
        changes += _merge(r, found.shared, found.keys, check)
    steps = [(f.path, f.data) for f in found.files] + [(gone, None) for gone in found.remove]
    for where, data in sorted(steps, key=lambda step: step[0]):
        if data is not None:
            changes += _write(r, where, data, check)
        elif r.lstat(where) is not None:
            if not check:
                r.remove(where)
            changes.append(Change(where, "would-remove" if check else "removed"))
    return "", changes


def _may_write(r: Root, path: str) -> None:
    """As root, write only where no one else could have put or could change what
    is written: the directory (or, where root would create it, the one it is
    created in) must be root's, and a file already there must be root's and
    writable by no one else (else another user could add ``LD_PRELOAD=…`` to
    what root exported)."""
    if os.geteuid() != 0:
        return
    parent = os.path.dirname(path)
    st = r.lstat(parent)
    while st is None and parent != "/":  # directories root would create: in root's only
        parent = os.path.dirname(parent)
        st = r.lstat(parent)
    if st is not None and st.st_uid != 0:
        raise UnsafePath(parent, f"belongs to uid {st.st_uid}", "export as that user, not as root")
    st = r.lstat(path)
    if st is not None and (st.st_uid != 0 or st.st_mode & 0o022):
        raise UnsafePath(
            path,
            f"belongs to uid {st.st_uid} (mode {stat.S_IMODE(st.st_mode):04o}): root does not "
            "write into a file another user could change",
            "remove it, or chown root and chmod go-w it, and export again",
        )


def _merge_lines(
    r: Root, path: str, lines: Sequence[tuple[str, str]], whole: str, check: bool
) -> list[Change]:
    """Our assignments merged into the env or sh file at ``path``: a line setting
    one of our variables is replaced where it stands, the others are added at
    the end; every other line, comment and the order are kept. A new file is
    written whole."""
    data = r.read(path)
    if data is None:
        return _write(r, path, whole.encode(), check)
    text = data.decode("utf-8", "surrogateescape")
    kept = text.splitlines()
    for var, line in lines:
        pattern = re.compile(rf"\s*(export\s+)?{re.escape(var)}=")
        at = next((i for i, old in enumerate(kept) if pattern.match(old)), None)
        if at is None:
            kept.append(line)
        else:
            kept[at] = line
    merged = "\n".join(kept) + "\n"
    return _write(r, path, merged.encode("utf-8", "surrogateescape"), check)


def _merge(r: Root, path: str, keys: Sequence[OwnedKey], check: bool) -> list[Change]:
    """Our keys merged into the JSON file at ``path``, the rest of it kept."""
    data = r.read(path)
    doc = {} if data is None else jsonpolicy.load(data, path)
    before = json.dumps(doc, sort_keys=True)
    jsonpolicy.reconcile(doc, keys, [], path)
    if json.dumps(doc, sort_keys=True) == before:
        return [Change(path, "unchanged")] if data is not None else []
    return _write(r, path, jsonpolicy.dump(doc), check)


def _write(r: Root, path: str, data: bytes, check: bool) -> list[Change]:
    if r.read(path) == data:
        return [Change(path, "unchanged")]
    if not check:
        r.write(path, data)
    return [Change(path, "would-write" if check else "written")]


__all__ = ["FORMATS", "Change", "Target", "UnsafePath", "export", "row"]

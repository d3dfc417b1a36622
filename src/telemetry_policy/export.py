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
from collections.abc import Sequence
from typing import Any

from .catalogue import Plan, Target
from .model import Mode
from .safefs import Root, UnsafePath
from .switches import OwnedFile, comment, env, jsonpolicy, wants

FORMATS = ("env", "sh", "firefox", "chromium", "vscode", "json")


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
    out: dict[str, Any] = {
        "target": t.name,
        "kind": t.kind,
        "app": t.app,
        "tool": t.tool,
        "default": str(plan.default),
        "ceiling": str(plan.ceiling),
        "level": level or None,
    }
    if t.kind == "env":
        out["writes"] = {t.variable: t.off} if level else {}
    elif t.kind == "firefox":
        out["writes"] = _keys_doc(jsonpolicy.firefox_keys(plan))
    elif t.kind == "vscode":
        out["writes"] = _keys_doc(jsonpolicy.vscode_keys(plan))
    elif t.kind == "chromium":
        found = jsonpolicy.chromium_file(plan)
        out["writes"] = {} if found is None else {found.path: json.loads(found.data)}
    elif t.kind in ("conf", "flag"):
        out["writes"] = {t.path: t.off or "(the file exists)"} if level else {}
    elif t.kind == "go":
        out["writes"] = {}
    out["reads"] = t.reads
    out["local_becomes"] = t.local
    out["source"] = t.source
    return out


def _keys_doc(keys: Sequence[Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    jsonpolicy.reconcile(doc, keys, [], "-")
    return doc


def export(
    fmt: str, plans: list[Plan], output: str | None, check: bool
) -> tuple[str, list[Change]]:
    """Render ``fmt``; write it to ``output`` if given. Returns (stdout text, changes)."""
    kind = "env" if fmt in ("env", "sh") else fmt
    chosen = [p for p in plans if fmt == "json" or p.target.kind == kind]
    if fmt == "json":
        text = json.dumps({"schema": 1, "targets": [row(p) for p in chosen]}, indent=2) + "\n"
        return _write_whole(text, output, check)
    if fmt in ("env", "sh"):
        found = env.assignments((p, Mode.OFF if wants(p) else Mode.ON) for p in chosen)
        header = comment().replace("apply`", f"export --format {fmt}`")
        return _write_whole(header + env.render(found, fmt), output, check)
    if fmt == "chromium":
        return _chromium(chosen, output, check)
    keys = [k for p in chosen for k in (jsonpolicy.firefox_keys(p) if fmt == "firefox"
                                        else jsonpolicy.vscode_keys(p))]  # fmt: skip
    if output is None:
        doc = _keys_doc(keys)
        return (jsonpolicy.dump(doc or ({"policies": {}} if fmt == "firefox" else {})).decode(), [])
    r = Root("/")
    path = os.path.abspath(output)
    data = r.read(path)
    doc = {} if data is None else jsonpolicy.load(data, path)
    before = json.dumps(doc, sort_keys=True)
    jsonpolicy.reconcile(doc, [k._replace(path=path) for k in keys], [], path)
    if json.dumps(doc, sort_keys=True) == before:
        return "", [Change(path, "unchanged")] if data is not None else []
    return _write(r, path, jsonpolicy.dump(doc), check)


def _write(r: Root, path: str, data: bytes, check: bool) -> tuple[str, list[Change]]:
    if r.read(path) == data:
        return "", [Change(path, "unchanged")]
    if not check:
        r.write(path, data)
    return "", [Change(path, "would-write" if check else "written")]


def _write_whole(text: str, output: str | None, check: bool) -> tuple[str, list[Change]]:
    if output is None:
        return text, []
    return _write(Root("/"), os.path.abspath(output), text.encode(), check)


def _chromium(chosen: list[Plan], output: str | None, check: bool) -> tuple[str, list[Change]]:
    """Chromium reads every *.json in policies/managed and policies/recommended:
    ours is one file, in the one level the policy calls for."""
    found: OwnedFile | None = None
    for plan in chosen:
        if output is not None:
            plan = plan._replace(target=plan.target._replace(path=os.path.abspath(output)))
        mine = jsonpolicy.chromium_file(plan)
        if mine is not None and (found is None or "/managed/" in mine.path):
            found = mine
    if output is None:
        return ("{}\n" if found is None else found.data.decode()), []
    r = Root("/")
    changes: list[Change] = []
    for level in ("managed", "recommended"):
        path = os.path.join(os.path.abspath(output), level, jsonpolicy.CHROMIUM_FILE)
        if found is not None and found.path == path:
            changes += _write(r, path, found.data, check)[1]
        elif r.lstat(path) is not None:
            if not check:
                r.remove(path)
            changes.append(Change(path, "would-remove" if check else "removed"))
    return "", changes


__all__ = ["FORMATS", "Change", "Target", "UnsafePath", "export", "row"]

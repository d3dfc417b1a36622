"""JSON policy files: Firefox's ``policies.json``, Chromium's policy
directories and VS Code's ``policy.json``.

Chromium reads every ``*.json`` in ``managed/`` (enforced) and
``recommended/`` (a default its user may change), so apply owns one whole
file there. Firefox and VS Code read one file that the admin may share with
other policies, so apply owns *keys* in it, never the file: it adds its keys,
keeps everything else, and when the policy relaxes takes back only the keys
it wrote, putting back what the admin had before.

A shared file is rewritten only if it can be written back faithfully: no
duplicate keys, no NaN or numbers beyond a double, no nesting beyond
:data:`MAX_DEPTH`. Otherwise it is refused and left as it is.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..catalogue import Plan, Target
from ..model import Mode
from ..safefs import Root, UnsafePath
from .base import Export, OwnedFile, OwnedKey, Reading, Switch, wants

KINDS = ("firefox", "chromium", "vscode")
# Chromium merges every file of a policies directory, and the file last in
# lexicographic order wins a policy set twice: ours is named to come late.
CHROMIUM_FILE = "zz-telemetry-policy.json"
LEVELS = ("managed", "recommended")
MAX_DEPTH = 32
UPLOAD_PREF = "datareporting.healthreport.uploadEnabled"
_LEAVE = "fix it or move it away; it was left as it is"


def dump(doc: Any) -> bytes:
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"): written back as the escape it was
        return (json.dumps(doc, indent=2) + "\n").encode()


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def load(data: bytes, path: str) -> dict[str, Any]:
    """A JSON object that can be written back as it was read; else UnsafePath."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"duplicate key {dup[:40]!r} (one of the values would be lost)")
        return dict(items)

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number {text[:20]} is too large to write back")
        return value

    try:
        doc = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=pairs,
            parse_constant=constant,
            parse_float=number,
        )
    except RecursionError:
        raise UnsafePath(path, "nested too deeply to write back faithfully", _LEAVE) from None
    except UnicodeDecodeError:
        raise UnsafePath(path, "not UTF-8 text", _LEAVE) from None
    except ValueError as e:  # JSONDecodeError, our checks, integers too long
        raise UnsafePath(path, f"not valid JSON or not writable back: {e}", _LEAVE) from None
    if not isinstance(doc, dict):
        raise UnsafePath(path, f"holds a JSON {type(doc).__name__}, not an object", _LEAVE)
    if _depth(doc) > MAX_DEPTH:
        raise UnsafePath(path, f"nests deeper than {MAX_DEPTH} levels", _LEAVE)
    return doc


# --- Keys inside a shared document.

_ABSENT = object()


def get(doc: Any, key: Sequence[str]) -> Any:
    """The value at ``key``, or _ABSENT."""
    for part in key:
        if not isinstance(doc, dict) or part not in doc:
            return _ABSENT
        doc = doc[part]
    return doc


def _put(doc: dict[str, Any], key: Sequence[str], value: Any, path: str) -> list[list[str]]:
    """Set ``key``; returns the parent objects it had to create."""
    created: list[list[str]] = []
    for i, part in enumerate(key[:-1]):
        if part not in doc:
            doc[part] = {}
            created.append(list(key[: i + 1]))
        doc = doc[part]
        if not isinstance(doc, dict):
            where = ".".join(key[: i + 1])
            raise UnsafePath(path, f"{where} is not a JSON object", _LEAVE)
    doc[key[-1]] = copy.deepcopy(value)
    return created


def _delete(doc: dict[str, Any], key: Sequence[str], created: Sequence[Sequence[str]]) -> None:
    parent = get(doc, key[:-1]) if len(key) > 1 else doc
    if isinstance(parent, dict):
        parent.pop(key[-1], None)
    for made in sorted(created, key=len, reverse=True):  # deepest first, if now empty
        holder = get(doc, made[:-1]) if len(made) > 1 else doc
        if isinstance(holder, dict) and holder.get(made[-1]) == {}:
            del holder[made[-1]]


def reconcile(
    doc: dict[str, Any], wanted: Sequence[OwnedKey], owned: Sequence[dict[str, Any]], path: str
) -> list[dict[str, Any]]:
    """Make ``doc`` hold the ``wanted`` keys, taking back ``owned`` ones no longer
    wanted. Returns the new ownership entries (``key``, ``value``, ``before``,
    ``created``). Changes ``doc`` in place."""
    by_key = {tuple(w.key): w for w in wanted}
    keep: list[dict[str, Any]] = []
    for entry in owned:
        key = tuple(entry["key"])
        want = by_key.get(key)
        current = get(doc, key)
        if want is not None and current == entry["value"] == want.value:
            keep.append(entry)
            continue
        if current is not _ABSENT and current == entry["value"]:  # still ours: take it back
            if "before" in entry:
                _put(doc, key, entry["before"], path)
            else:
                _delete(doc, key, entry.get("created", []))
        # else the admin changed it since: it is theirs now
    kept = {tuple(e["key"]) for e in keep}
    for want in wanted:
        key = tuple(want.key)
        if key in kept:
            continue
        current = get(doc, key)
        if current is _ABSENT:
            keep.append({"key": list(key), "value": want.value,
                         "created": _put(doc, key, want.value, path)})  # fmt: skip
        elif want.force and current not in want.strict:
            keep.append({"key": list(key), "value": want.value, "before": current})
            _put(doc, key, want.value, path)
    return keep


# --- What each program is told.


def firefox_keys(plan: Plan) -> list[OwnedKey]:
    level, t = wants(plan), plan.target
    if level == "mandatory":
        return [OwnedKey(t.path, ("policies", "DisableTelemetry"), True, t.name, True, (True,))]
    if level == "recommended":
        pref = {"Value": False, "Status": "default"}
        return [OwnedKey(t.path, ("policies", "Preferences", UPLOAD_PREF), pref, t.name, False)]
    return []


def chromium_file(plan: Plan) -> OwnedFile | None:
    level = wants(plan)
    if not level:
        return None
    folder = "managed" if level == "mandatory" else "recommended"
    path = f"{plan.target.path}/{folder}/{CHROMIUM_FILE}"
    return OwnedFile(path, dump({"MetricsReportingEnabled": False}), (plan.target.name,))


def vscode_keys(plan: Plan) -> list[OwnedKey]:
    if wants(plan) != "mandatory":
        return []  # VS Code's policy file holds enforced settings only
    return [
        OwnedKey(plan.target.path, ("TelemetryLevel",), "off", plan.target.name, True, ("off",))
    ]


# --- What a browser or editor reads now (audit --programs).


def _read_document(target: Target, root: str) -> tuple[Root, dict[str, Any] | Reading]:
    r = Root(root)
    try:
        data = r.read(target.path)
        return r, {} if data is None else load(data, r.shown(target.path))
    except UnsafePath as e:
        return r, Reading(str(e), None)


def _read_vscode(target: Target, root: str) -> Reading:
    _, doc = _read_document(target, root)
    if isinstance(doc, Reading):
        return doc
    level = doc.get("TelemetryLevel")
    if level is None:
        return Reading("no TelemetryLevel policy (its default: all)", Mode.ON)
    return Reading(
        f"TelemetryLevel {level!r} (enforced)", Mode.OFF if level == "off" else Mode.ON, True
    )


def _read_firefox(target: Target, root: str) -> Reading:
    r, doc = _read_document(target, root)
    if isinstance(doc, Reading):
        return doc
    policies = doc.get("policies", {})
    if not isinstance(policies, dict):
        return Reading(f"{r.shown(target.path)}: not a policies file", None)
    if policies.get("DisableTelemetry") is True:
        return Reading("DisableTelemetry true (enforced)", Mode.OFF, True)
    prefs = policies.get("Preferences", {})
    pref = prefs.get(UPLOAD_PREF) if isinstance(prefs, dict) else None
    if isinstance(pref, bool):  # the older plain-value form is locked
        return Reading(
            f"{UPLOAD_PREF} {str(pref).lower()} (locked)", Mode.ON if pref else Mode.OFF, True
        )
    if isinstance(pref, dict) and isinstance(pref.get("Value"), bool):
        locked = pref.get("Status") == "locked"
        shown = f"{UPLOAD_PREF} {str(pref['Value']).lower()} ({pref.get('Status', 'default')})"
        return Reading(shown, Mode.ON if pref["Value"] else Mode.OFF, locked)
    return Reading("no telemetry policy (its default: on)", Mode.ON)


def _read_chromium(target: Target, r: Root) -> Reading:
    """MetricsReportingEnabled as Chromium merges its files: managed wins over
    recommended, and within a level the file last in lexicographic order."""
    found: dict[str, tuple[str, bool]] = {}
    for level in LEVELS:
        directory = f"{target.path}/{level}"
        try:
            names = sorted(os.listdir(r.shown(directory)))
        except OSError:
            continue
        for name in names:  # every file, as Chromium reads them: the last one wins
            try:
                data = r.read(f"{directory}/{name}")
                doc = {} if data is None else load(data, r.shown(f"{directory}/{name}"))
            except UnsafePath:
                continue  # Chromium skips a file it cannot read as a JSON object
            value = doc.get("MetricsReportingEnabled")
            if isinstance(value, bool):
                found[level] = (f"{level}/{name}", value)
    if not found:
        return Reading("no MetricsReportingEnabled policy (its default: asks or on)", Mode.ON)
    level = "managed" if "managed" in found else "recommended"
    where, value = found[level]
    mode = Mode.ON if value else Mode.OFF
    return Reading(
        f"{where}: MetricsReportingEnabled {str(value).lower()}", mode, level == "managed"
    )


# --- The three kinds.


def keys_document(keys: Sequence[OwnedKey]) -> dict[str, Any]:
    """The JSON document holding just ``keys``."""
    doc: dict[str, Any] = {}
    reconcile(doc, keys, [], "-")
    return doc


class _Keys(Switch):
    """A program that reads one JSON file the admin may share: apply owns keys in it."""

    needs_program = True
    empty: dict[str, Any] = {}  # noqa: RUF012 - never mutated

    def keys(self, plan: Plan) -> list[OwnedKey]:
        raise NotImplementedError

    def desired(self, plans: Sequence[Plan]) -> list[OwnedFile | OwnedKey]:
        return [k for p in plans for k in self.keys(p)]

    def paths(self, target: Target) -> set[str]:
        return {target.path}

    def writes(self, plan: Plan) -> dict[str, Any]:
        return keys_document(self.keys(plan))

    def export(self, plans: Sequence[Plan], fmt: str, output: str | None) -> Export:
        keys = [k for p in plans for k in self.keys(p)]
        text = dump(keys_document(keys) or self.empty).decode()
        if output is None:
            return Export(text)
        return Export(text, (), output, tuple(k._replace(path=output) for k in keys))


class Firefox(_Keys):
    """Firefox (and Thunderbird): keys in ``policies.json``."""

    kinds = ("firefox",)
    formats = ("firefox",)
    empty = {"policies": {}}  # noqa: RUF012

    def keys(self, plan: Plan) -> list[OwnedKey]:
        return firefox_keys(plan)

    def seeds(self, target: Target) -> tuple[str, ...]:
        # Firefox reads /etc/firefox/policies/policies.json *instead of* its
        # distribution's policies.json: that one's policies are carried over
        return target.sources

    def read(self, target: Target, root: str, environ: Mapping[str, str]) -> Reading:
        return _read_firefox(target, root)


class VSCode(_Keys):
    """VS Code: ``TelemetryLevel`` in its ``policy.json`` (enforced settings only)."""

    kinds = ("vscode",)
    formats = ("vscode",)

    def keys(self, plan: Plan) -> list[OwnedKey]:
        return vscode_keys(plan)

    def read(self, target: Target, root: str, environ: Mapping[str, str]) -> Reading:
        return _read_vscode(target, root)


class Chromium(Switch):
    """The Chromium family: one whole file of ours in ``managed/`` or ``recommended/``."""

    kinds = ("chromium",)
    formats = ("chromium",)
    needs_program = True

    def desired(self, plans: Sequence[Plan]) -> list[OwnedFile | OwnedKey]:
        return [f for f in map(chromium_file, plans) if f is not None]

    def paths(self, target: Target) -> set[str]:
        return {f"{target.path}/{level}/{CHROMIUM_FILE}" for level in LEVELS}

    def read(self, target: Target, root: str, environ: Mapping[str, str]) -> Reading:
        try:
            return _read_chromium(target, Root(root))
        except UnsafePath as e:
            return Reading(str(e), None)

    def writes(self, plan: Plan) -> dict[str, Any]:
        found = chromium_file(plan)
        return {} if found is None else {found.path: json.loads(found.data)}

    def export(self, plans: Sequence[Plan], fmt: str, output: str | None) -> Export:
        """One file, in the one level the policy calls for (managed wins); with
        ``output`` (a policies directory) ours in the other level goes."""
        found: OwnedFile | None = None
        for plan in plans:
            if output is not None:
                plan = plan._replace(target=plan.target._replace(path=output))
            mine = chromium_file(plan)
            if mine is not None and (found is None or "/managed/" in mine.path):
                found = mine
        text = "{}\n" if found is None else found.data.decode()
        if output is None:
            return Export(text)
        others = tuple(
            os.path.join(output, level, CHROMIUM_FILE)
            for level in LEVELS
            if found is None or found.path != os.path.join(output, level, CHROMIUM_FILE)
        )
        return Export(text, () if found is None else (found,), remove=others)

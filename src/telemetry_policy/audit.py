"""``telemetry-policy audit``: every path considered, every value's origin, the decision.

Modelled on ``git config --show-origin`` and chrome://policy: nothing that
influenced the answer is left out, and nothing that was passed over is hidden.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import one_line
from .inputs import Inputs, evaluate
from .locations import search_paths
from .model import Decision, Trace, Value
from .paths import join
from .policymodel import Layer


def run_audit(
    app: str | None,
    *,
    root: str | None,
    environ: Mapping[str, str],
    now: datetime | None = None,
) -> list[Decision]:
    """The decision for ``app`` or, without one, the global decision and one per app,
    all from one reading of the tree (audit grows like resolve, not like its square)."""
    if app is not None:
        return [evaluate(app, root=root, environ=environ, now=now, platform=True)]
    inputs = Inputs(root, environ, now)
    main = inputs.decide(None, platform=True)
    return [main] + [inputs.decide(name) for name in inputs.named()]


def snapshot_status(root: str) -> tuple[str, str]:
    """Where the compiled snapshot of ``root`` is, and whether clients can use it."""
    from .snapshot import PATH, load

    path = join(root, PATH)
    if load(os.path.normpath(root)) is not None:
        return path, "current"
    return path, "stale" if os.path.lexists(path) else "none"


_SNAPSHOT_SAYS = {
    "current": "current: clients without plugins read it instead of the files",
    "stale": "not used (the files changed, or it is not trusted): clients read the files;"
    " `telemetry-policy apply` compiles it again",
    "none": "none: clients read the files; `telemetry-policy apply` compiles it",
}


def _layer_dict(layer: Layer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": layer.origin.source if layer.origin.kind == "file" else None,
        "name": layer.name,
        "tier": layer.tier,
        "status": layer.status,
    }
    if layer.origin.kind == "plugin":
        out["plugin"] = layer.origin.source
    if layer.origin.line is not None:
        out["line"] = layer.origin.line
    if layer.reason:
        out["reason"] = layer.reason
    return out


def _value(key: str, value: Value) -> int | str:
    """Modes as their words, the upload delay as a number."""
    return value if key == "upload_delay_days" else str(value)


def _trace_dict(t: Trace) -> dict[str, Any]:
    return {
        "key": t.key,
        "value": _value(t.key, t.value),
        "origin": str(t.origin),
        "origin_kind": t.origin.kind,
        "overrode": [{"value": _value(t.key, v), "origin": str(o)} for v, o in t.overrode],
        **({"note": t.note} if t.note else {}),
    }


def as_json(decisions: list[Decision], root: str) -> dict[str, Any]:
    main = decisions[0]
    out = main.as_dict()
    out["root"] = root
    out["trace"] = [_trace_dict(t) for t in main.trace]
    out["layers"] = [_layer_dict(layer) for layer in main.layers]
    p = main.platform
    out["platform"] = (
        None if p is None else {"id": p.id, "version": p.version, "like": list(p.like)}
    )
    out["plugins"] = [
        {
            "name": i.name,
            "kind": i.kind,
            "status": i.status,
            "trusted": i.trusted,
            "distribution": i.distribution or None,
            "version": i.version or None,
            "hooks": list(i.hooks),
            **({"note": i.note} if i.note else {}),
        }
        for i in main.plugins
    ]
    out["search_paths"] = [{"tier": tier, "path": path} for tier, path in search_paths(root)]
    path, status = snapshot_status(root)
    out["snapshot"] = {"path": path, "status": status}
    if main.app is None:
        out["apps"] = {
            d.app: {**d.as_dict(), "trace": [_trace_dict(t) for t in d.trace]}
            for d in decisions[1:]
        }
    return out


def as_text(decisions: list[Decision], root: str) -> str:
    main = decisions[0]
    p = main.platform
    lines = [f"Root: {root}"]
    if p is not None:
        like = f" (like {' '.join(p.like)})" if p.like else ""
        lines.append(f"Platform: {p.id or 'unknown'} {p.version or '(no version)'}{like}")
    lines += ["", "Searched, lowest precedence first:"]
    lines += [f"  {tier:<8} {path}" for tier, path in search_paths(root)]
    lines += ["", "Policy layers, in the order they apply:"]
    if not main.layers:
        lines.append("  (none found: built-in defaults apply)")
    width = max((len(layer.status) for layer in main.layers), default=0)
    for layer in main.layers:
        where = (
            str(layer.origin) if layer.origin.kind == "file" else f"plugin {layer.origin.source}"
        )
        reason = f"  ({layer.reason})" if layer.reason else ""
        lines.append(f"  {layer.status:<{width}}  {layer.tier:<7} {where}{reason}")
    lines += ["", "Plugins:"]
    for info in main.plugins:
        hooks = ", ".join(h.removeprefix("telemetry_policy_") for h in info.hooks) or "-"
        dist = f" from {info.distribution} {info.version}" if info.distribution else ""
        trust = "trusted" if info.trusted else "untrusted"
        note = f"  ({info.note})" if info.note else ""
        lines.append(f"  {info.name} ({info.kind}{dist}, {info.status}, {trust}): {hooks}{note}")
    path, status = snapshot_status(root)
    lines += ["", f"Snapshot: {path}", f"  {_SNAPSHOT_SAYS[status]}"]
    for d in decisions:
        lines += ["", "Decision for " + (d.app or "all apps (global)") + ":"]
        lines += d.explain().splitlines()[1:]
        lines.append(
            f"  => mode {d.mode}, may collect: {'yes' if d.may_collect else 'no'}, "
            f"may upload: {'yes' if d.may_upload else 'no'}"
        )
    return "\n".join(one_line(line) for line in lines)

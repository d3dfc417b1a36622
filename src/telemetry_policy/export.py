"""Project the system's policy onto other programs' own telemetry switches.

Most programs will never ask this library; ``telemetry-policy export`` writes
what the policy *forbids* in the form each program reads (environment
variables, Firefox's and Chromium's enterprise policies, VS Code's policy
file), and ``telemetry-policy sync --user go`` lowers Go's own mode file.
Nothing here ever turns telemetry on: an export expresses the ceiling (and,
where a program has a level its user may still change, the default), and a
shared file is only ever tightened, never loosened or rewritten whole.

Targets come from the ``telemetry_policy_export_targets`` hook; the built-in
ones are in :data:`BUILTIN_TARGETS`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from .errors import PolicyError
from .hookspecs import hookimpl
from .model import Record
from .modes import Mode

FORMATS = ("env", "sh", "firefox", "chromium", "vscode", "json")
FILE_NAME = "telemetry-policy.json"  # our own file in Chromium's policy directories
MAX_JSON = 1024 * 1024

_LOCAL_UPLOADS = (
    "the tool has no local-only level: its telemetry is uploading, so local (keep data "
    "on this machine) means opted out"
)


class Target(Record):
    """One program's telemetry switch, as an ``export_targets`` hook names it."""

    name: str  # unique; shown in output
    kind: str  # env, firefox, chromium or vscode
    app: str | None  # the app name in policy (None: the global decision)
    tool: str = ""  # the program, for people
    variable: str = ""  # env: the variable to set
    off: str = ""  # env: the value that means off
    local: str = _LOCAL_UPLOADS  # what our "local" becomes for this tool, and why
    source: str = ""  # where the program documents the switch


BUILTIN_TARGETS: tuple[Target, ...] = (
    Target(
        "do-not-track",
        "env",
        None,
        "Console Do Not Track (any program that honours it)",
        "DO_NOT_TRACK",
        "1",
        "DO_NOT_TRACK asks for no tracking at all, so local sets it too",
        "https://consoledonottrack.com/",
    ),
    Target(
        "dotnet",
        "env",
        "dotnet",
        ".NET SDK and CLI",
        "DOTNET_CLI_TELEMETRY_OPTOUT",
        "1",
        source="https://learn.microsoft.com/dotnet/core/tools/telemetry",
    ),
    Target(
        "homebrew",
        "env",
        "homebrew",
        "Homebrew",
        "HOMEBREW_NO_ANALYTICS",
        "1",
        source="https://docs.brew.sh/Analytics",
    ),
    Target(
        "powershell",
        "env",
        "powershell",
        "PowerShell",
        "POWERSHELL_TELEMETRY_OPTOUT",
        "1",
        source="https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_telemetry",
    ),
    Target(
        "azd",
        "env",
        "azd",
        "Azure Developer CLI",
        "AZURE_DEV_COLLECT_TELEMETRY",
        "no",
        source="https://github.com/Azure/azure-dev#data-collection",
    ),
    Target(
        "nextjs",
        "env",
        "nextjs",
        "Next.js",
        "NEXT_TELEMETRY_DISABLED",
        "1",
        source="https://nextjs.org/telemetry",
    ),
    Target(
        "gatsby",
        "env",
        "gatsby",
        "Gatsby",
        "GATSBY_TELEMETRY_DISABLED",
        "1",
        source="https://www.gatsbyjs.com/docs/telemetry/",
    ),
    Target(
        "huggingface",
        "env",
        "huggingface",
        "Hugging Face Hub libraries",
        "HF_HUB_DISABLE_TELEMETRY",
        "1",
        source="https://huggingface.co/docs/huggingface_hub/package_reference/environment_variables",
    ),
    Target(
        "firefox",
        "firefox",
        "firefox",
        "Firefox (enterprise policies.json)",
        local="Firefox has no local-only telemetry level: local disables telemetry",
        source="https://mozilla.github.io/policy-templates/#disabletelemetry",
    ),
    Target(
        "chromium",
        "chromium",
        "chromium",
        "Chromium (managed or recommended policy)",
        local="Chromium's metrics reporting only uploads: local turns it off",
        source="https://chromeenterprise.google/policies/#MetricsReportingEnabled",
    ),
    Target(
        "vscode",
        "vscode",
        "vscode",
        "Visual Studio Code (/etc/vscode/policy.json)",
        local="VS Code's levels (all, error, crash) all upload: local becomes off",
        source="https://code.visualstudio.com/docs/setup/enterprise",
    ),
)


BUILTIN_PLUGIN = "export-targets"


@hookimpl(specname="telemetry_policy_export_targets")
def builtin_targets() -> list[Target]:
    """The built-in ``export-targets`` plugin: the targets named above."""
    return list(BUILTIN_TARGETS)


class ExportError(PolicyError):
    """A file an export would change cannot be used; it was left as it is."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {reason}" + (f"; {hint}" if hint else ""))


class Plan(Record):
    """What the system allows one target, and so what its export says."""

    target: Target
    default: Mode
    ceiling: Mode

    @property
    def forbidden(self) -> bool:
        """The ceiling is below on: the program must not upload."""
        return self.ceiling < Mode.ON

    @property
    def discouraged(self) -> bool:
        """Only the default is below on: where a program has a level its user
        may change, it is recommended off; elsewhere nothing is written."""
        return not self.forbidden and self.default < Mode.ON

    def as_dict(self) -> dict[str, Any]:
        t = self.target
        out: dict[str, Any] = {
            "target": t.name,
            "kind": t.kind,
            "app": t.app,
            "tool": t.tool,
            "default": str(self.default),
            "ceiling": str(self.ceiling),
        }
        if t.kind == "env":
            out["writes"] = {t.variable: t.off} if self.forbidden else {}
        elif t.kind == "firefox":
            out["writes"] = firefox_policies(self)
        elif t.kind == "chromium":
            level, policies = chromium_policy(self)
            out["writes"] = {level: policies} if level else {}
        elif t.kind == "vscode":
            out["writes"] = vscode_policy(self)
        out["local_becomes"] = t.local
        out["source"] = t.source
        return out


# --- What each kind of target is told.


def env_lines(plans: Iterable[Plan]) -> list[tuple[str, str, Plan]]:
    """(variable, value, plan) for every environment target the policy forbids."""
    return [
        (p.target.variable, p.target.off, p)
        for p in plans
        if p.target.kind == "env" and p.forbidden
    ]


def firefox_policies(plan: Plan) -> dict[str, Any]:
    """Firefox enterprise policies: enforced when forbidden, a default when discouraged."""
    if plan.forbidden:
        return {"DisableTelemetry": True}
    if plan.discouraged:
        pref = {"Value": False, "Status": "default"}
        return {"Preferences": {"datareporting.healthreport.uploadEnabled": pref}}
    return {}


def chromium_policy(plan: Plan) -> tuple[str | None, dict[str, Any]]:
    """(level, policies): managed when forbidden, recommended when discouraged."""
    if plan.forbidden:
        return "managed", {"MetricsReportingEnabled": False}
    if plan.discouraged:
        return "recommended", {"MetricsReportingEnabled": False}
    return None, {}


def vscode_policy(plan: Plan) -> dict[str, Any]:
    """VS Code's policy file holds enforced settings only: the ceiling."""
    return {"TelemetryLevel": "off"} if plan.forbidden else {}


# --- Rendering whole files.

_HEADER = (
    "# Written by telemetry-policy export --format {fmt}: what the system's telemetry\n"
    "# policy forbids, as each tool's own switch. Regenerate it, do not edit it.\n"
)


def render_env(plans: Iterable[Plan], fmt: str = "env") -> str:
    """KEY=VALUE lines for environment.d(5) or /etc/environment, or (``fmt="sh"``)
    ``export KEY=VALUE`` lines for /etc/profile.d."""
    prefix = "export " if fmt == "sh" else ""
    body = "".join(
        f"# {p.target.tool}: ceiling {p.ceiling}\n{prefix}{var}={value}\n"
        for var, value, p in env_lines(plans)
    )
    return _HEADER.format(fmt=fmt) + body


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"


def _tighten(current: Any, wanted: Any) -> Any:
    """``current`` with ``wanted``'s keys set, recursively; nothing else changes."""
    if not isinstance(current, dict) or not isinstance(wanted, dict):
        return wanted
    merged = dict(current)
    for key, value in wanted.items():
        merged[key] = _tighten(current.get(key), value)
    return merged


def merge_firefox(existing: Any, plans: list[Plan], path: str) -> dict[str, Any]:
    doc = {} if existing is None else existing
    if not isinstance(doc, dict) or not isinstance(doc.get("policies", {}), dict):
        raise ExportError(path, 'not a Firefox policies file (no "policies" object)', _LEAVE)
    wanted: dict[str, Any] = {}
    for plan in plans:
        wanted = _tighten(wanted, firefox_policies(plan))
    if not wanted:
        return doc
    merged: dict[str, Any] = _tighten(doc, {"policies": wanted})
    return merged


def merge_vscode(existing: Any, plans: list[Plan], path: str) -> dict[str, Any]:
    doc = {} if existing is None else existing
    if not isinstance(doc, dict):
        raise ExportError(path, "not a VS Code policy file (not a JSON object)", _LEAVE)
    for plan in plans:
        doc = _tighten(doc, vscode_policy(plan))
    return doc


_LEAVE = "fix it or move it away; it was left as it is"


# --- Writing: atomic, idempotent, 0644, checked without writing.


class Change(Record):
    """What an export did (or, with --check, would do) to one file."""

    path: str
    action: str  # written, unchanged, removed, would-write, would-remove

    @property
    def drift(self) -> bool:
        return self.action.startswith("would-")


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_JSON + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ExportError(path, f"cannot read: {e.strerror}", _LEAVE) from None
    if len(data) > MAX_JSON:
        raise ExportError(path, f"larger than {MAX_JSON // 1024} KiB", _LEAVE)
    return data


def _read_json(path: str) -> Any:
    data = _read(path)
    if data is None:
        return None
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ExportError(path, f"not valid JSON: {e}", _LEAVE) from None


def write_file(path: str, text: str, check: bool) -> Change:
    """Replace ``path`` with ``text`` atomically (mode 0644), unless it already says it."""
    import tempfile

    data = text.encode()
    if _read(path) == data:
        return Change(path, "unchanged")
    if check:
        return Change(path, "would-write")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".telemetry-policy.", suffix=".tmp")
    except OSError as e:
        raise ExportError(path, f"cannot write: {e.strerror}", "nothing was changed") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise ExportError(path, f"cannot write: {e.strerror}", "nothing was changed") from None
    return Change(path, "written")


def remove_file(path: str, check: bool) -> Change | None:
    """Remove one of our own files that no longer applies."""
    if not os.path.lexists(path):
        return None
    if check:
        return Change(path, "would-remove")
    try:
        os.unlink(path)
    except OSError as e:
        raise ExportError(path, f"cannot remove: {e.strerror}", _LEAVE) from None
    return Change(path, "removed")


# --- The export command's work.


def plans(
    root: str, environ: Mapping[str, str], now: datetime, targets: Iterable[Target]
) -> tuple[list[Plan], list[str]]:
    """The system's decision for each target's app (no user choices)."""
    from .api import evaluate

    out: list[Plan] = []
    errors: list[str] = []
    for target in targets:
        d = evaluate(target.app, root=root, environ=environ, now=now, user=False)
        errors.extend(e for e in d.errors if e not in errors)
        out.append(Plan(target, d.default, d.ceiling))
    return out, errors


def export(
    fmt: str, all_plans: list[Plan], output: str | None, check: bool
) -> tuple[str, list[Change]]:
    """Render ``fmt``; write it to ``output`` if given. Returns (stdout text, changes)."""
    kind = {"env": "env", "sh": "env"}.get(fmt, fmt)
    chosen = [p for p in all_plans if fmt == "json" or p.target.kind == kind]
    if fmt == "json":
        text = _dump({"schema": 1, "targets": [p.as_dict() for p in chosen]})
    elif fmt in ("env", "sh"):
        text = render_env(chosen, fmt)
    elif fmt == "chromium":
        return _export_chromium(chosen, output, check)
    else:  # firefox, vscode: one file shared with the admin, only ever tightened
        merge = merge_firefox if fmt == "firefox" else merge_vscode
        existing = _read_json(output) if output else None
        doc = merge(existing, chosen, output or "-")
        if output is None:
            return _dump(doc or ({"policies": {}} if fmt == "firefox" else {})), []
        if doc == (existing if existing is not None else {}):
            # nothing to add: the admin's file (and formatting) stays as it is
            return "", [Change(output, "unchanged")] if existing is not None else []
        text = _dump(doc)
    if output is None:
        return text, []
    return "", [write_file(output, text, check)]


# --- Targets from plugins.

_VARIABLE = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
_VALUE = r"[A-Za-z0-9._-]{1,64}"  # safe unquoted in sh and environment.d


def collect_targets(
    hooks: Any, code_trust: Callable[[object], str]
) -> tuple[list[Target], list[str]]:
    """Every plugin's targets: the built-in ``export-targets`` plugin's, then
    those of installed plugins.

    A plugin may add environment targets only, and only when its code is
    installed like a system package's (root-owned): an export is written as
    root into /etc, and a variable's "off" value is the plugin's word.
    """
    import re

    from .errors import PluginError
    from .plugins import Builtin
    from .policyfile import APP_NAME, PLUGIN_NAME

    if hooks.pm.get_plugin(BUILTIN_PLUGIN) is None:
        hooks.pm.register(Builtin(builtin_targets), name=BUILTIN_PLUGIN)
    hook = "telemetry_policy_export_targets"
    targets: list[Target] = []
    names: set[str] = set()
    variables: set[str] = set()
    errors: list[str] = []
    for plugin, result in sorted(hooks._call(hook), key=lambda r: r[0] != BUILTIN_PLUGIN):
        if isinstance(result, PluginError):
            errors.append(str(result))
            continue
        if plugin == BUILTIN_PLUGIN:
            targets.extend(result)
            names.update(t.name for t in result)
            variables.update(t.variable for t in result if t.variable)
            continue
        why = code_trust(hooks.pm.get_plugin(plugin))
        if why:
            errors.append(str(PluginError(plugin, hook, f"targets not used: {why}")))
            continue
        for t in result if isinstance(result, (list, tuple)) else [result]:
            ok = (
                isinstance(t, Target)
                and t.kind == "env"
                and re.fullmatch(PLUGIN_NAME, t.name)
                and t.name not in names
                and (t.app is None or APP_NAME.fullmatch(t.app))
                and re.fullmatch(_VARIABLE, t.variable)
                and t.variable not in variables
                and re.fullmatch(_VALUE, t.off)
                and all(s.isprintable() for s in (t.tool, t.local, t.source))
            )
            if not ok:
                why = f"returned {t!r:.60}, not a new, valid environment Target"
                errors.append(str(PluginError(plugin, hook, why)))
                continue
            targets.append(t)
            names.add(t.name)
            variables.add(t.variable)
    return targets, errors


def _export_chromium(
    chosen: list[Plan], output: str | None, check: bool
) -> tuple[str, list[Change]]:
    """Chromium reads every *.json in policies/managed and policies/recommended:
    ours is one file, in the one level the policy calls for."""
    level: str | None = None
    policies: dict[str, Any] = {}
    for plan in chosen:
        plan_level, plan_policies = chromium_policy(plan)
        if plan_level == "managed" or (plan_level and level is None):
            level = plan_level
        policies.update(plan_policies)
    if output is None:
        return _dump(policies), []
    changes = []
    for each in ("managed", "recommended"):
        path = os.path.join(output, each, FILE_NAME)
        if each == level:
            changes.append(write_file(path, _dump(policies), check))
        else:
            gone = remove_file(path, check)
            if gone:
                changes.append(gone)
    return "", changes


# --- sync --user go: lower Go's own mode file to the ceiling.

GO_MODES = {"off": Mode.OFF, "local": Mode.LOCAL, "on": Mode.ON}


def go_mode_file(environ: Mapping[str, str]) -> str:
    """Go's os.UserConfigDir()/go/telemetry/mode. Raises ExportError where Go has none."""
    config = environ.get("XDG_CONFIG_HOME", "")
    if config and not os.path.isabs(config):
        raise ExportError(
            "XDG_CONFIG_HOME", f"{config!r} is relative, so Go has no config directory", _LEAVE
        )
    if not config:
        home = environ.get("HOME", "")
        if not home:
            raise ExportError("HOME", "not set, so Go has no config directory", "set HOME")
        config = os.path.join(home, ".config")
    return os.path.join(config, "go", "telemetry", "mode")


def sync_go(
    ceiling: Mode, environ: Mapping[str, str], now: datetime, check: bool
) -> tuple[str, Change | None]:
    """Lower the user's Go telemetry mode to ``ceiling`` when it is above it.

    No file is Go's default, ``local``. A file Go would not understand counts
    as above any ceiling (it may mean anything) and is replaced. Returns (a
    line saying what happened, the change if any).
    """
    path = go_mode_file(environ)
    data = _read(path)
    words = (data or b"").decode("utf-8", "replace").split()
    if data is None:
        current, shown = Mode.LOCAL, "local (Go's default: no mode file)"
    elif words and words[0] in GO_MODES and len(words) <= 2:
        current, shown = GO_MODES[words[0]], words[0]
    else:
        current, shown = Mode.ON, f"unreadable ({(data or b'')[:20]!r})"
    if current <= ceiling:
        return f"go: {shown}, within the ceiling {ceiling}; left as it is", None
    text = f"{ceiling} {now.date().isoformat()}"  # as `go telemetry off` writes it
    change = write_file(path, text, check)
    verb = "would lower" if change.drift else "lowered"
    return f"go: {shown} is above the ceiling {ceiling}; {verb} to {ceiling} in {path}", change

"""The programs whose own telemetry switches the policy is written into.

Each program is a row of data in ``catalogue.toml`` (next to this module): its
switch, what the program's own code reads as off, which level it has
(mandatory, a default its user may change, or only an opt-out), how to tell
it is installed and the source that shows it. Adding a program is a row, and a
test that runs the real program. Installed plugins may add environment rows
through the ``telemetry_policy_export_targets`` hook.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from .hookspecs import hookimpl
from .model import Mode, Record
from .paths import join

KINDS = ("env", "firefox", "chromium", "vscode", "conf", "flag", "go")
LOCAL_UPLOADS = (
    "the tool has no local-only level: its telemetry is uploading, so local (keep data "
    "on this machine) means opted out"
)


class Target(Record):
    """One program's telemetry switch: a row of the catalogue."""

    name: str  # unique; shown in output
    kind: str  # one of KINDS: which writer expresses the policy
    app: str | None  # the app name in policy (None: the global decision)
    tool: str = ""  # the program, for people
    variable: str = ""  # env: the variable to set
    off: str = ""  # env: the value written for off; conf: the assignment line
    local: str = LOCAL_UPLOADS  # what our "local" becomes for this tool, and why
    source: str = ""  # where the program's own code or docs show the switch
    path: str = ""  # firefox, vscode, conf, flag, go: the file; chromium: the policies dir
    reads: str = ""  # what the program's code reads as off (and on)
    level: str = "user"  # user, mandatory, default or both: which decision reaches it
    installed: tuple[str, ...] = ()  # commands on PATH, or /absolute/paths, that show it
    proof: str = ""  # the test that runs the real program, if any
    off_match: str = ".+"  # env, conf: the values the program reads as off (a regex)
    default: str = "on"  # the program's own mode when its switch is not set
    sources: tuple[str, ...] = ()  # conf: the files it reads, in order (globs); firefox:
    # the distribution's policies.json it reads when there is none in /etc
    status: str = ""  # how the proof reads the program's own status back
    ask: tuple[str, ...] = ()  # a safe, offline command that prints the program's own status
    ask_off: str = ""  # what in its output (a regex, per line) says off
    ask_on: str = ""  # ... and on (uploading)
    ask_local: str = ""  # ... and local (collecting, never uploading), for programs with one
    unverified: str = ""  # why the switch is not known to work: no compliance is claimed


def _load_builtin() -> tuple[Target, ...]:
    import sys
    from importlib.resources import files

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    doc = tomllib.loads(files(__package__).joinpath("catalogue.toml").read_text("utf-8"))
    fields = set(Target.__fields__)
    rows = []
    for row in doc["program"]:
        unknown = set(row) - fields
        if unknown:  # a typo in the shipped data is a bug: fail loudly in tests
            raise ValueError(f"catalogue row {row.get('name')!r}: unknown {sorted(unknown)}")
        row["app"] = row.get("app", row["name"]) or None  # "": the global decision
        for field in ("installed", "sources", "ask"):
            if field in row:
                row[field] = tuple(row[field])
        rows.append(Target(**row))
    return tuple(rows)


_builtin: tuple[Target, ...] | None = None


def builtin() -> tuple[Target, ...]:
    """The shipped catalogue, read once per process."""
    global _builtin
    if _builtin is None:
        _builtin = _load_builtin()
    return _builtin


BUILTIN_PLUGIN = "export-targets"


@hookimpl(specname="telemetry_policy_export_targets")
def builtin_targets() -> list[Target]:
    """The built-in ``export-targets`` plugin: the shipped catalogue."""
    return list(builtin())


_VARIABLE = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
# A plugin's variable must name a telemetry switch, never one that changes
# what programs run, load or print (PATH, LD_PRELOAD, PROMPT_COMMAND, PAGER...).
_SWITCH_WORDS = re.compile(
    r"TELEMETRY|ANALYTICS|TRACK|METRICS|STATISTICS|STATS|USAGE|OPT_?OUT|CHECKPOINT|REPORTING"
)
_DANGEROUS = re.compile(
    r"(LD|DYLD|GCONV|MALLOC|GLIBC|BASH|PYTHON|PERL|RUBY|NODE|JAVA|_JAVA|GIT|TELEMETRY_POLICY)_.*"
)
_VALUE = r"[A-Za-z0-9._-]{1,64}"  # safe unquoted in sh, environment.d and systemd


def valid_plugin_target(t: object, names: set[str], variables: set[str]) -> bool:
    """Whether a plugin's target is a new environment row, safe to write as root."""
    from .policyfile import APP_NAME, PLUGIN_NAME

    return (
        isinstance(t, Target)
        and all(isinstance(getattr(t, f), str) for f in ("name", "kind", "variable", "off"))
        and all(isinstance(getattr(t, f), str) for f in ("tool", "local", "source"))
        and t.kind == "env"
        and re.fullmatch(PLUGIN_NAME, t.name) is not None
        and t.name not in names
        and (t.app is None or (isinstance(t.app, str) and APP_NAME.fullmatch(t.app) is not None))
        and re.fullmatch(_VARIABLE, t.variable) is not None
        and _SWITCH_WORDS.search(t.variable.upper()) is not None
        and _DANGEROUS.fullmatch(t.variable.upper()) is None
        and t.variable not in variables
        and re.fullmatch(_VALUE, t.off) is not None
        and all(s.isprintable() for s in (t.tool, t.local, t.source))
    )


def collect_targets(hooks: Any, code_trust: Callable[[str], str]) -> tuple[list[Target], list[str]]:
    """Every plugin's targets: the built-in ``export-targets`` plugin's, then
    those of installed plugins.

    A plugin may add environment targets only, and only when its code is
    installed like a system package's (root-owned): they are written as root
    into /etc, and a variable's "off" value is the plugin's word.
    """
    from .errors import PluginError
    from .plugins import Builtin

    if hooks.pm.get_plugin(BUILTIN_PLUGIN) is None:
        hooks.pm.register(Builtin(builtin_targets), name=BUILTIN_PLUGIN)
    hook = "telemetry_policy_export_targets"
    targets: list[Target] = []
    names: set[str] = set()
    variables: set[str] = set()
    errors: list[str] = []
    answers = hooks.targets()
    for answer in sorted(answers, key=lambda r: getattr(r, "plugin", "") != BUILTIN_PLUGIN):
        if isinstance(answer, PluginError):
            errors.append(str(answer))
            continue
        plugin, result = answer.plugin, answer.value
        if plugin == BUILTIN_PLUGIN:
            targets.extend(result)
            names.update(t.name for t in result)
            variables.update(t.variable for t in result if t.variable)
            continue
        why = code_trust(plugin)
        if why:
            errors.append(str(PluginError(plugin, hook, f"targets not used: {why}")))
            continue
        for t in result if isinstance(result, (list, tuple)) else [result]:
            if not valid_plugin_target(t, names, variables):
                # never repr() a plugin's object: its __repr__ is the plugin's code too
                name = getattr(t, "name", None) if isinstance(t, Target) else None
                shown = f"target {name[:40]!r}" if isinstance(name, str) else "a target"
                why = f"returned {shown}, not a new, valid environment Target"
                errors.append(str(PluginError(plugin, hook, why)))
                continue
            targets.append(t)
            names.add(t.name)
            variables.add(t.variable)
    return targets, errors


#: Where an installed command is looked for: the system's own directories under
#: the root, never the PATH of whoever asks (the system's view is the same for all).
BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def installed(target: Target, root: str, path: str | None = None) -> bool:
    """Is ``target`` installed under ``root``: one of its files exists, or one of
    its commands is in the system's directories (or on ``path``, for a user)."""
    for what in target.installed:
        if what.startswith("/"):
            if os.path.lexists(join(root, what)):
                return True
            continue
        dirs = [join(root, d) for d in BIN_DIRS]
        if path is not None:  # a user runs what is on their PATH
            dirs += [d for d in path.split(":") if d.startswith("/")]
        if any(os.path.lexists(os.path.join(d, what)) for d in dirs):
            return True
    return False


class Plan(Record):
    """What the system allows one target: its app's default and ceiling."""

    target: Target
    default: Mode
    ceiling: Mode

    @property
    def mandatory(self) -> bool:
        """The ceiling is below on: the program must not upload, whatever its user says."""
        return self.ceiling < Mode.ON

    @property
    def recommended(self) -> bool:
        """Only the default is below on: off unless its user chooses otherwise."""
        return not self.mandatory and self.default < Mode.ON


_LEVELS = {
    "both": "mandatory below the ceiling; a default the user may change below the default",
    "mandatory": "mandatory only (below the ceiling)",
    "default": "the system's default (a daemon with no user of its own)",
    "user": "each user's decision at login; services get the system's default",
}


def markdown(rows: Iterable[Target] | None = None) -> str:
    """The catalogue as the table in docs/export.md: ``python -m telemetry_policy.catalogue``."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    header = ("program", "switch", "written for off", "as the program reads it", "levels",
              "source", "proof")  # fmt: skip
    out = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for t in builtin() if rows is None else rows:
        if t.kind == "env":
            switch = f"`{t.variable}`"
        elif t.kind == "conf":
            switch = f"`{t.path}`"
        else:
            switch = f"`{t.path}` ({t.kind})"
        written = f"`{t.off}`" if t.kind in ("env", "conf") else "(see reads)"
        proof = f"{t.status}: `{t.proof}`" if t.proof else "-"
        if t.unverified:
            proof = f"**unverified**: {t.unverified}"
        out.append(
            "| "
            + " | ".join(
                cell(x)
                for x in (
                    f"{t.name} ({t.tool})",
                    switch,
                    written,
                    t.reads,
                    _LEVELS[t.level],
                    t.source,
                    proof,
                )
            )
            + " |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(markdown())

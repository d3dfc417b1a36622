"""What the policy becomes in other programs' own switches: one module per kind.

Each kind of switch has a small module that turns the system's decision for
its programs into the *desired state* apply makes true: whole files apply
owns (:class:`OwnedFile`) and keys apply owns inside a file shared with the
admin (:class:`OwnedKey`). The modules are:

- ``env``: environment variables (system services, logins without a choice)
- ``jsonpolicy``: browser and editor JSON policies (Firefox, Chromium, VS Code)
- ``conf``: configuration drop-ins and flag files of system programs
- ``gomode``: Go's per-user mode file (at login, never by apply)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..catalogue import Plan, Target
from ..model import Mode, Record

STATE_DIR = "/var/lib/telemetry-policy"
MANIFEST = f"{STATE_DIR}/manifest.json"
SESSION_DIR = f"{STATE_DIR}/session"
HEADER = (
    "Written by `telemetry-policy apply` from the system's telemetry policy. Do not\n"
    "edit: change /etc/telemetry-policy/ and run `telemetry-policy apply`.\n"
)


def comment(prefix: str = "# ") -> str:
    return "".join(prefix + line + "\n" for line in HEADER.splitlines())


class OwnedFile(Record):
    """A whole file apply owns: written when its content differs, removed when
    the policy no longer calls for it."""

    path: str  # inside the image
    data: bytes
    targets: tuple[str, ...]  # the catalogue rows it expresses
    mode: int = 0o644
    flag: bool = False  # its presence is the switch: any file there already says it


class OwnedKey(Record):
    """A key apply owns inside a JSON file shared with the admin.

    ``force``: a value not in ``strict`` is replaced (its old value kept in the
    manifest, and put back when the key is taken back); otherwise the key is
    only filled in when absent, and an admin's value always stays.
    """

    path: str
    key: tuple[str, ...]
    value: Any
    target: str
    force: bool = True
    strict: tuple[Any, ...] = ()


Desired = OwnedFile | OwnedKey


class Reading(Record):
    """What a program's own switch says now, as the program would read it."""

    text: str  # for people: where and what
    mode: Mode | None  # what the program will do by it; None: cannot tell
    locked: bool = False  # the program's user cannot change it


def read(target: Target, root: str, environ: Mapping[str, str]) -> Reading:
    """Read ``target``'s own switch: the environment, its files under ``root``."""
    from . import conf, env, gomode, jsonpolicy

    if target.kind == "env":
        return env.read(target, environ)
    if target.kind == "go":
        return gomode.read(environ)
    if target.kind in conf.KINDS:
        return conf.read(target, root)
    return jsonpolicy.read(target, root)


def desired(plans: Sequence[Plan]) -> list[Desired]:
    """Every system back-end the plans call for, in a stable order."""
    from . import conf, env, gomode, jsonpolicy

    out: list[Desired] = []
    out += env.desired([p for p in plans if p.target.kind == "env"])
    out += jsonpolicy.desired([p for p in plans if p.target.kind in jsonpolicy.KINDS])
    out += conf.desired([p for p in plans if p.target.kind in conf.KINDS])
    out += gomode.desired([p for p in plans if p.target.kind == "go"])
    return out


def wants(plan: Plan) -> str:
    """Which level the system's decision calls for: mandatory, recommended or ''."""
    level = plan.target.level
    if plan.mandatory and level in ("both", "mandatory", "default", "user"):
        return "mandatory"
    if plan.recommended and level in ("both", "default", "user"):
        return "recommended"
    return ""


def owned_paths(targets: Sequence[Target]) -> tuple[set[str], set[str]]:
    """Every file apply may own for ``targets``, and every directory above one.

    A manifest is trusted only for these: an entry naming anything else (a
    forged ``/../etc/passwd``, or ``/etc/telemetry-policy/...``) is never
    taken back.
    """
    from . import env, gomode, jsonpolicy

    files = {env.SYSTEM_DROPIN, env.USER_MANAGER_DROPIN, env.SESSION_DEFAULT, gomode.SESSION_GO}
    for t in targets:
        if t.kind == "chromium":
            files |= {f"{t.path}/{level}/{jsonpolicy.CHROMIUM_FILE}" for level in jsonpolicy.LEVELS}
        elif t.kind in ("firefox", "vscode", "conf", "flag"):
            files.add(t.path)
    dirs = set()
    for path in files:
        parent = path.rsplit("/", 1)[0]
        while parent:
            dirs.add(parent)
            parent = parent.rsplit("/", 1)[0]
    return files, dirs

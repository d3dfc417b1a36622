"""What every kind of switch shares: the desired state apply makes true, the
reading of a program's switch, and the protocol each kind implements.

A kind of switch is one class (:class:`Switch`) in its own module, registered
in ``switches.SWITCHES``; apply, export, audit --programs and the login hook
loop over that table. What a kind wants is *desired state*: whole files apply
owns (:class:`OwnedFile`) and keys apply owns inside a JSON file shared with
the admin (:class:`OwnedKey`); apply writes, compares and takes back both the
same way for every kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
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


def wants(plan: Plan) -> str:
    """Which level the system's decision calls for: mandatory, recommended or ''."""
    level = plan.target.level
    if plan.mandatory and level in ("both", "mandatory", "default", "user"):
        return "mandatory"
    if plan.recommended and level in ("both", "default", "user"):
        return "recommended"
    return ""


class Login(Record):
    """What a login hook does for one user with one kind of switch."""

    lines: str = ""  # environment assignments for the session
    notes: tuple[str, ...] = ()  # what it did to the user's own files
    errors: tuple[str, ...] = ()
    changed: bool = False
    paths: tuple[str, ...] = ()  # the files changed (apply: inside the image)


class Export(Record):
    """What ``export`` writes for one kind: files whole, keys merged into a file,
    files of ours that no longer belong; ``text`` for standard output."""

    text: str
    files: tuple[OwnedFile, ...] = ()
    shared: str = ""  # the JSON file ``keys`` are merged into (drift is checked)
    keys: tuple[OwnedKey, ...] = ()
    lines_into: str = ""  # the env or sh file ``lines`` are merged into
    lines: tuple[tuple[str, str], ...] = ()  # (variable, its whole line)
    remove: tuple[str, ...] = ()


class Switch:
    """One kind of switch: what it wants for the system's decision, what the
    program's switch says now, and what a login of one user gets.

    ``kinds``: the catalogue kinds it serves. ``personal``: the program reads it
    per user (environment, the user's own files), so it is judged by each
    user's decision; otherwise by the system's. ``formats``: the ``export``
    formats it renders.
    """

    kinds: tuple[str, ...] = ()
    personal = False
    formats: tuple[str, ...] = ()
    always: tuple[str, ...] = ()  # files it owns whatever the catalogue holds
    user_files = False  # a login writes the user's own files (``session --no-go`` skips it)
    needs_program = False  # writes the program's own files: only while it is installed

    def desired(self, plans: Sequence[Plan]) -> list[Desired]:
        """Every file and key the system's decision calls for (``apply``)."""
        return []

    def paths(self, target: Target) -> set[str]:
        """Every file this kind may ever own for ``target`` (the manifest's allowlist)."""
        return set()

    def read(self, target: Target, root: str, environ: Mapping[str, str]) -> Reading:
        """What ``target``'s own switch says now, as the program reads it."""
        raise NotImplementedError

    def read_system(self, target: Target, root: str) -> Reading:
        """A personal switch as a login without choices of its own and every
        service get it (what apply wrote for them), whoever asks."""
        return self.read(target, root, {})

    def required(self, plan: Plan, mode: Mode | None) -> tuple[Mode, bool]:
        """What the decision requires of the program: (the most it may do, locked).
        ``mode``: the user's decision, for a personal switch; None: the system's."""
        if mode is not None:  # without a local level, local means opted out
            return (mode if mode is Mode.ON else Mode.OFF), False
        if plan.ceiling < Mode.ON:
            return Mode.OFF, True  # none of these programs has a local-only level
        if plan.default < Mode.ON and plan.target.level in ("both", "default"):
            return Mode.OFF, False
        return Mode.ON, False

    def seeds(self, target: Target) -> tuple[str, ...]:
        """Files the program reads instead when the shared file apply creates is
        absent: a new shared file starts from the first that exists."""
        return ()

    def writes(self, plan: Plan) -> dict[str, Any]:
        """What the program is told, for ``export --format json``."""
        return {}

    def export(self, plans: Sequence[Plan], fmt: str, output: str | None) -> Export:
        """``export --format FMT`` (one of ``formats``): the text, and what it
        writes when given ``output`` (a file, or a policies directory)."""
        raise NotImplementedError

    def login(
        self,
        decided: Sequence[tuple[Plan, Mode]],
        environ: Mapping[str, str],
        now: datetime,
        fmt: str,
        check: bool,
    ) -> Login:
        """What a login of the user of ``environ`` gets, from their decisions."""
        return Login()

    def accounts(
        self, root: str, plans: Sequence[Plan], now: datetime, check: bool, undo: bool
    ) -> Login:
        """What apply does in the files of accounts that never log in (root, system
        users) and of new users (``/etc/skel``); ``undo`` takes it back."""
        return Login()

    def undo(self, environ: Mapping[str, str]) -> Login:
        """Take back what logins wrote in the user's own files (package removal)."""
        return Login()

"""``telemetry-policy audit --programs``: does each program on this machine obey?

For every catalogued program: whether it is installed here, what the policy
requires of it (the user's decision for what reads the environment or the
user's own files, the system's for what reads system files), what its own
switch says now, read the way the program reads it, and whether that
complies: never more telemetry than required, and locked where the ceiling
forbids. Chrome shows its own policy and Firefox its own; this shows a
machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .ask import Answer, ask
from .catalogue import BIN_DIRS, Target, installed
from .errors import one_line
from .model import Mode, Record
from .paths import join
from .switches import Reading, switch


class Status(Record):
    target: Target
    installed: bool
    required: Mode  # the most the program may do
    locked: bool  # the user must not be able to raise it (ceiling below on)
    whose: str  # "your decision" or "the system's"
    reading: Reading
    said: Answer | None = None  # what the program itself said (--ask)

    @property
    def complies(self) -> bool | None:
        """None when the program is not installed, its switch cannot be read, or
        its switch is not known to work (an unverified row)."""
        if not self.installed or self.reading.mode is None or self.target.unverified:
            return None
        said = None if self.said is None else self.said.mode
        if said is not None and (said is not self.reading.mode or said > self.required):
            return False  # the program disagrees with our reading, or is above
        if self.reading.mode > self.required:
            return False
        return self.reading.locked or not self.locked

    def as_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "program": t.name,
            "tool": t.tool,
            "kind": t.kind,
            "installed": self.installed,
            "requires": {"mode": str(self.required), "locked": self.locked, "whose": self.whose},
            "now": {
                "switch": self.reading.text,
                "mode": None if self.reading.mode is None else str(self.reading.mode),
                "locked": self.reading.locked,
            },
            "complies": self.complies,
            **({"unverified": t.unverified} if t.unverified else {}),
            "asked": None
            if self.said is None
            else {
                "says": None if self.said.mode is None else str(self.said.mode),
                "text": self.said.text,
            },
            "source": t.source,
        }


def survey(
    root: str,
    environ: Mapping[str, str],
    now: datetime,
    *,
    user: bool = False,
    everything: bool = False,
    asking: bool = False,
) -> tuple[list[Status], list[str]]:
    """Every catalogued program (installed ones only unless ``everything``,
    installed first) and whether it complies, with the problems met.

    The system's view (the default) does not depend on who asks or from where:
    programs that read the environment or the user's own files are judged by
    what a login without choices of its own and every service get (what apply
    wrote for them), against the system's default. ``user``: the caller's own
    decisions, and the switches as the caller's session and files have them.
    """
    from .plans import system_plans, user_decisions

    plans, errors = system_plans(root, environ, now)
    decided: dict[str, Mode] = {}
    login: dict[str, str] = {}
    if user:
        personal = [p.target for p in plans if switch(p.target).personal]
        mine, more = user_decisions(root, environ, now, personal)
        errors += [e for e in more if e not in errors]
        decided = {plan.target.name: mode for plan, mode in mine}
        login = _login_environ(root, environ, now)
    out = []
    for plan in plans:
        t = plan.target
        here = installed(t, root, environ.get("PATH") if user else None)
        if not (here or everything):
            continue
        kind = switch(t)
        if user and t.name in decided:
            required, locked = kind.required(plan, decided[t.name])
            reading = kind.read(t, root, login)  # what your logins get, not this process
            out.append(Status(t, here, required, locked, "your decision", reading))
        elif kind.personal:  # what a login without a choice of its own gets
            required, locked = kind.required(plan, plan.default)
            out.append(
                Status(t, here, required, locked, "a login's default", kind.read_system(t, root))
            )
        else:
            required, locked = kind.required(plan, None)
            out.append(
                Status(t, here, required, locked, "the system's", kind.read(t, root, environ))
            )
    if asking:
        out = [_asked(s, root, environ, now, user) for s in out]
    out.sort(key=lambda s: not s.installed)
    return out, errors


def _asked(
    status: Status, root: str, environ: Mapping[str, str], now: datetime, user: bool
) -> Status:
    """``status`` with what the program itself says, run as the login in question."""
    t = status.target
    if not status.installed or not t.ask:
        return status
    dirs = [join(root, d) for d in BIN_DIRS]
    if user:
        env = _login_environ(root, environ, now)
        dirs += [d for d in environ.get("PATH", "").split(":") if d.startswith("/")]
    else:
        if switch(t).user_files:
            said = "not asked: it reads a file of each user's own; --user asks it for you"
            return status._replace(said=Answer(None, said))
        from .switches.env import SESSION_DEFAULT

        env = {"HOME": "/nonexistent", **_assignments(_read_text(join(root, SESSION_DEFAULT)))}
    return status._replace(said=ask(t, list(dict.fromkeys(dirs)), env))


def _login_environ(root: str, environ: Mapping[str, str], now: datetime) -> dict[str, str]:
    """The environment a login of the caller gets: who they are and where their
    files are, and the switches of their decisions (``session``)."""
    from .plans import own_environ
    from .session import session

    text, _, _, _ = session(root, environ, now, "env", go=False, check=True)
    return {**own_environ(environ), **_assignments(text)}


def _assignments(text: str | None) -> dict[str, str]:
    lines = (text or "").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and line[:1] != "#")


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(1 << 16)
    except OSError:
        return None


def as_text(found: list[Status]) -> str:
    rows = [("program", "installed", "the policy requires", "complies", "its own switch now")]
    for s in found:
        need = f"{s.required}{', locked' if s.locked else ''} ({s.whose})"
        ok = {True: "yes", False: "NO", None: "cannot tell"}[s.complies]
        if s.target.unverified:
            ok = "unverified"
        if not s.installed:
            ok = "not installed"
        now = s.reading.text + (f"; it says: {s.said.text}" if s.said is not None else "")
        rows.append((s.target.name, "yes" if s.installed else "no", need, ok, now))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[4]]) for r in rows
    ]
    bad = [s.target.name for s in found if s.installed and s.complies is False]
    lines.append("")
    if bad:
        lines.append(
            f"{len(bad)} installed program(s) do not comply: {', '.join(bad)}; run "
            "telemetry-policy apply (environment variables: log in again)"
        )
    else:
        count = sum(s.installed for s in found)
        lines.append(f"every installed program it knows complies ({count} installed)")
    lines.append(
        "(only catalogued programs are judged: telemetry-policy audit --programs --all lists "
        "the catalogue)"
    )
    return "\n".join(one_line(line) for line in lines)

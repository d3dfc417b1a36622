"""``audit --programs --ask``: what each program says of itself.

Where a catalogue row has a safe, offline status command (``go telemetry``,
``next telemetry status``, ``turbo telemetry status``, …), the real program
is run with the environment the login in question gets, and what it prints
is read with the row's own words (``ask_off``, ``ask_on``, ``ask_local``).
Never as root a binary another user could have written (the file and every
directory above it must be root's, or the caller's, and writable by no one
else); never with the network (a network namespace of its own: ``unshare``);
never for long (a timeout). When a program is not asked, the answer says why.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence

from .catalogue import Target
from .errors import one_line
from .model import Mode, Record
from .paths import untrusted

__all__ = ["Answer", "ask"]

TIMEOUT = 30
_LIMIT = 64 * 1024


class Answer(Record):
    """What a program said of itself, or why it was not asked."""

    mode: Mode | None  # None: not asked, or it did not say
    text: str


def _trusted(path: str) -> str:
    """Why the binary at ``path`` may not be run by this user ('' if it may): it
    and every directory above it must be root's (or the caller's, when not
    root) and writable by no one else; a sticky directory (/tmp, /var/tmp) only
    lets others add entries of their own, so it may be on the way."""
    owners = {0} if os.geteuid() == 0 else {0, os.geteuid()}
    real = os.path.realpath(path)
    here = real
    while True:
        try:
            st = os.stat(here)
        except OSError as e:
            return f"cannot check {here}: {e.strerror}"
        sticky = here != real and st.st_mode & stat.S_ISVTX and st.st_uid in owners
        why = "" if sticky else untrusted(here, st, owners)
        if why:
            return why.split(";")[0]
        if here == "/":
            return ""
        here = os.path.dirname(here)


def _find(command: str, dirs: Sequence[str]) -> str | None:
    for d in dirs:
        path = os.path.join(d, command)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _isolated() -> list[str] | None:
    """The prefix that runs a command without a network, or None if there is none."""
    flags = ["--net"] if os.geteuid() == 0 else ["--map-current-user", "--net"]
    probe = ["unshare", *flags, "true"]
    try:
        if subprocess.run(probe, capture_output=True, timeout=10).returncode == 0:
            return ["unshare", *flags]
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def ask(target: Target, dirs: Sequence[str], environ: Mapping[str, str]) -> Answer:
    """Run ``target``'s status command, found in ``dirs``, with ``environ`` (the
    login's), offline; what it says, read with the row's own words."""
    if not target.ask:
        return Answer(None, "not asked: it has no offline status command")
    binary = _find(target.ask[0], dirs)
    if binary is None:
        return Answer(None, f"not asked: {target.ask[0]} is not in {':'.join(dirs)}")
    why = _trusted(binary)
    if why:
        return Answer(None, f"not asked: {why}")
    prefix = _isolated()
    if prefix is None:
        return Answer(None, "not asked: cannot run it without the network (unshare)")
    env = {**environ, "PATH": ":".join(dirs)}
    with tempfile.TemporaryDirectory(prefix="tp-ask-") as work:
        try:
            p = subprocess.run(
                [*prefix, binary, *target.ask[1:]], env=env, cwd=work, capture_output=True,
                timeout=TIMEOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return Answer(None, f"not answered in {TIMEOUT} s")
        except OSError as e:
            return Answer(None, f"not asked: {e.strerror}")
    out = (p.stdout[:_LIMIT] + p.stderr[:_LIMIT]).decode("utf-8", "replace")
    said = " ".join(target.ask)
    for mode, pattern in ((Mode.OFF, target.ask_off), (Mode.ON, target.ask_on),
                          (Mode.LOCAL, target.ask_local)):  # fmt: skip
        if pattern:
            found = re.search(pattern, out, re.MULTILINE)
            if found:
                return Answer(mode, one_line(f"{said}: {found.group(0)[:60]}"))
    last = out.strip().splitlines()[-1:] or ["(nothing)"]
    return Answer(None, one_line(f"{said} did not say: {last[0][:80]}"))

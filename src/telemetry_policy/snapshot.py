"""The snapshot ``apply`` compiles, and ``resolve()`` answering from it.

A telemetry client calls ``resolve()`` at every start, so asking must cost
it next to nothing (DESIGN.md section 9). Finding, judging and parsing every
policy file (and importing ``tomllib`` to do it) costs more than the rest of
the decision, so ``apply`` writes ``/var/cache/telemetry-policy/policy.snapshot``
(``snapshot_build``): the policy layers it found under the root, what they
leave for each app, and the identity of everything it looked at to find them
(each directory listed, file read, link followed: device, inode, type, mode,
owner, size, modification and change times). A client uses it only if every
one of those is still exactly as it was: one ``stat`` each (and an ``access``
for each file read), no file opened.

With a usable snapshot and no plugin installed, ``resolve()`` works the answer
out here from the snapshot's values for the app, the environment and the
user's store, importing none of pluggy, tomllib, inspect, typing, re, enum or
the resolver. Everything else (a plugin, a root that cannot be used, ``go``'s
own mode file, anything that raises) goes to ``api.evaluate``, the full
resolution, which gives the same answer (property-tested: tests/test_snapshot.py).
A decision's explanation (``trace``, ``layers``, ``platform``) is worked out
by the full resolver when first read, from the same snapshot and inputs.

A snapshot can only cost time, never change the answer:

- stale: any file or directory edited, added, removed, re-linked, chmod'ed
  or chown'ed since has a new change time (which no one can set back), so
  the snapshot is not used and the files are read as if there were none;
  ``apply`` compiles only from files whose change time is older than a
  clock tick (two seconds where timestamps are whole seconds), so an edit
  made in the same tick as its reading cannot go unseen. On a read-only
  file system (an image: squashfs stores no change time, and a rebuilt image
  can repeat every other field) the change time proves nothing: there the
  snapshot also holds what each file read and directory listed held, and
  compares it;
- another caller: a file or directory the compiler could read and the caller
  cannot, or the other way round (the kernel's answer, ``access``: groups,
  ACLs, root without its capabilities), or whose owner is trusted for one and
  not the other (a file of the caller's own), is not used either;
- forged: it is read only if it is trusted as a policy file is (owned by
  root or the caller, writable by no one else, in a directory that passes
  the same check, not a link, not a FIFO): whoever could forge it could
  write policy files themselves;
- corrupt, truncated, from another version: ignored as a whole.

Its format is Python's ``marshal`` (read with no import at all), private to
this library; a client in another language asks ``telemetry-policy resolve
--json`` instead (docs/authors.md).
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (DESIGN.md section 9).

import marshal
import os
import stat

from .model import (
    DEFAULT_UPLOAD_DELAY_DAYS,
    MODES,
    Choice,
    Decision,
    Mode,
    Origin,
    PolicyError,
    is_app_name,
    upload_window,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from typing import Any

    from .userstore import Store

PATH = "/var/cache/telemetry-policy/policy.snapshot"
FORMAT = ("telemetry-policy snapshot", 3)
_MAX = 64 * 1024 * 1024
_MODE_KEYS = ("default", "ceiling")
_KEYS = (*_MODE_KEYS, "upload_delay_days")
# How discovery looked at a path (``locations`` notes each), so what of it counts:
TYPE = "t"  # what kind of file it is (not followed): a directory on the way
OWNER = "o"  # its owner: the root prefix (whose owner is trusted)
TRUST = "m"  # its owner and mode: a directory judged by the trust check
LINK = "l"  # all of it, not followed: a symlink that was followed
READ = "r"  # all of it, not followed: a file that was read
LIST = "d"  # all of it: a directory that was listed
_FULL = (LINK, READ, LIST)


def _join(root: str, path: str) -> str:
    return path if root == "/" else os.path.join(root, path.lstrip("/"))


def fingerprint(path: str, how: str) -> tuple[int | str, ...]:
    """What a change to ``path`` would change, as ``how`` looked at it; for a
    file read or a directory listed, also whether this caller may (the kernel's
    answer: groups, ACLs, capabilities, security modules all count)."""
    try:
        st = os.stat(path, follow_symlinks=how in (OWNER, TRUST, LIST))
    except OSError as e:
        return ("E", e.errno or 0)
    if how == TYPE:
        return (stat.S_IFMT(st.st_mode),)
    if how == OWNER:
        return (st.st_uid,)
    if how == TRUST:
        return (st.st_mode, st.st_uid)
    may = -1
    if how == READ:
        may = os.access(path, os.R_OK, effective_ids=True)
    elif how == LIST:
        may = os.access(path, os.R_OK | os.X_OK, effective_ids=True)
    return (
        st.st_mode, st.st_uid, st.st_ino, st.st_dev, st.st_nlink, st.st_gid,
        st.st_size, st.st_mtime_ns, st.st_ctime_ns, int(may),
    )  # fmt: skip


def content(path: str, how: str) -> "bytes | tuple[str, ...] | None":
    """What a file read holds, or the names a directory listed holds (for
    paths whose change time proves nothing: read-only file systems)."""
    try:
        if how == LIST:
            return tuple(sorted(os.listdir(path)))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX:
            return None
        return os.read(fd, st.st_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def owners(root: str) -> frozenset[int]:
    """Who a policy file may belong to for this caller (``locations``' rule)."""
    found = {0, os.getuid()}
    if root != "/":
        try:
            found.add(os.stat(root).st_uid)
        except OSError:
            pass
    return frozenset(found)


def _usable(
    seen: object, compiled_owners: object, root_owners: frozenset[int], contents: object
) -> bool:
    """Is every recorded path as it was, judged as the compiler judged it?"""
    if type(seen) is not tuple or type(compiled_owners) is not frozenset:
        return False
    if type(contents) is not tuple:
        return False
    for path, how, fp in seen:
        # Any difference, also in what this caller may read: the compiler could
        # read a file this caller cannot, or the other way round.
        if fingerprint(path, how) != fp:
            return False
        if fp[0] == "E" or how not in (TRUST, READ, LIST):
            continue
        if (fp[1] in compiled_owners) != (fp[1] in root_owners):
            return False  # trusted for one caller and not the other
    return all(content(path, how) == held for path, how, held in contents)


def _read(path: str, trusted: frozenset[int]) -> bytes | None:
    """The snapshot's bytes, if it may be trusted as a policy file is."""
    try:
        holder = os.lstat(os.path.dirname(path))
        if not stat.S_ISDIR(holder.st_mode) or holder.st_uid not in trusted:
            return None
        if holder.st_mode & 0o022:
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid not in trusted or st.st_mode & 0o022:
            return None
        if st.st_size > _MAX:
            return None
        chunks = []
        size = 0
        while size <= st.st_size:
            chunk = os.read(fd, st.st_size + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _text(value: object) -> str:
    if type(value) is not str:
        raise ValueError("not a string")
    return value


def _strings(value: object) -> tuple[str, ...]:
    if type(value) is not tuple:
        raise ValueError("not a tuple")
    return tuple(_text(v) for v in value)


class Snapshot:
    """A usable snapshot: the raw layers, and for the common case (no plugin
    installed) what the layers leave for each app, decided when it was compiled."""

    def __init__(self, encoded: "tuple[Any, ...]", system: "dict[Any, Any]", problems: "Any",
                 platform: "Any") -> None:  # fmt: skip
        self.encoded = encoded
        self.system = system
        self.problems: tuple[str, ...] = _strings(problems)
        self.platform = platform

    def values(self, app: str | None) -> "tuple[Mode | None, Mode | None, int | None]":
        """(default, ceiling, upload_delay_days) as the layers leave them for
        ``app``; None where no layer sets it."""
        found = self.system.get(app, self.system[None])
        default, ceiling, delay = found
        for value in found:
            if value is not None and type(value) is not int:
                raise ValueError("not a value")
        return (
            None if default is None else Mode(default),
            None if ceiling is None else Mode(ceiling),
            delay,
        )


def load(root: str) -> "Snapshot | None":
    """The snapshot of ``root``, or None when there is none this caller may use
    as it is (then the files are read)."""
    trusted = owners(root)
    data = _read(_join(root, PATH), trusted)
    if data is None:
        return None
    try:
        header, for_root, compiled_owners, seen, contents, encoded, system, problems, platform = (
            marshal.loads(data)
        )
        if header != FORMAT or for_root != root or type(encoded) is not tuple:
            return None
        if type(system) is not dict or None not in system:
            return None
        if not _usable(seen, compiled_owners, trusted, contents):
            return None
        return Snapshot(encoded, system, problems, platform)
    except Exception:  # anything unreadable is no snapshot: only slower
        return None


# --- Where the user's files are: XDG base directories, with HOME as the fallback.


def _home(environ: "Mapping[str, str]") -> str:
    home = environ.get("HOME", "")
    if home.startswith("/"):
        return home
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        from .errors import UserStoreError

        raise UserStoreError(
            "$HOME",
            f"not set, and uid {os.getuid()} has no passwd entry: your choices cannot be found",
            "set HOME (or XDG_CONFIG_HOME and XDG_STATE_HOME)",
        ) from None


def xdg_dir(environ: "Mapping[str, str]", var: str, fallback: str) -> str:
    base = environ.get(var, "")
    if not base.startswith("/"):  # XDG: relative values are ignored
        base = os.path.join(_home(environ), fallback)
    return os.path.join(base, "telemetry-policy")


def store_path(environ: "Mapping[str, str]") -> str:
    return os.path.join(xdg_dir(environ, "XDG_CONFIG_HOME", ".config"), "user.toml")


def state_path(environ: "Mapping[str, str]") -> str:
    return os.path.join(xdg_dir(environ, "XDG_STATE_HOME", ".local/state"), "state.toml")


def absent(path: str) -> bool:
    """Is there certainly nothing at ``path`` for ``ownfiles.read_own``: a
    component is missing, and each one before it is a plain directory (no link
    to judge)? False means: let ``read_own`` look (it may find the file, or a
    reason to refuse it). A client with no store and no state then never loads
    the module that reads them."""
    here = ""
    for part in path.split("/"):
        if not part:
            continue
        here += "/" + part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            return True
        except OSError:
            return False
        if not stat.S_ISDIR(mode):  # a link, the file itself: read_own judges it
            return False
    return False


# --- resolve(), from the snapshot when it can answer.


ENV_ROOT = "TELEMETRY_POLICY_ROOT"
ENV_DISABLE = "TELEMETRY_POLICY_DISABLE_PLUGINS"
ENV_MODE = "TELEMETRY_POLICY_MODE"
ENV_DNT = "DO_NOT_TRACK"


def env_choice(environ: "Mapping[str, str]") -> "Choice | None":
    """``TELEMETRY_POLICY_MODE``: the first user choice consulted."""
    value = environ.get(ENV_MODE, "")
    if not value:
        return None
    origin = Origin("env", ENV_MODE)
    found = MODES.get(value)  # exactly: "ON " is not a mode
    if found is not None:
        return Choice(found, origin)
    why = f"{ENV_MODE}={value[:40]!r} is not off, local or on; read as off"
    return Choice(Mode.OFF, origin, None, why)


def dnt_cap(environ: "Mapping[str, str]") -> "Choice | None":
    """``DO_NOT_TRACK`` set to anything but empty, ``0`` or ``false``: at most
    ``local`` (exactly those three: a value read loosely could only raise)."""
    value = environ.get(ENV_DNT)
    if value is None or value in ("", "0", "false"):
        return None
    return Choice(Mode.LOCAL, Origin("env", ENV_DNT))


def store_choice(store: "Store | Exception", app: str | None) -> "Choice | None":
    """The user store's choice for ``app`` (None: ``[all]``); a store that
    cannot be read counts as ``off``, and says why."""
    from .errors import UserStoreError

    if isinstance(store, UserStoreError):
        return Choice(Mode.OFF, Origin("user", store.path), None, f"{store}; read as off")
    assert not isinstance(store, Exception)
    return store.choice(app)


def resolve(
    app: str,
    *,
    app_default: "Mode | str | None" = None,
    root: "str | os.PathLike[str] | None" = None,
    environ: "Mapping[str, str] | None" = None,
    now: "datetime | None" = None,
) -> "Decision":
    """May ``app`` collect, and upload, for this user, now? And why.

    Call it before reading your own telemetry setting::

        d = resolve("mytool", app_default="local")
        if d.may_collect: ...
        if d.may_upload: ...

    ``app_default`` is your program's own default; it never exceeds the
    system ceiling. ``root``, ``environ`` and ``now`` default to ``/``
    (or ``$TELEMETRY_POLICY_ROOT``), ``os.environ`` and the current time.
    Problems never raise: they lower the mode and are listed in ``errors``.
    Only a wrong call (bad app name, naive ``now``) raises UsageError.
    """
    environ = os.environ if environ is None else environ
    if root is not None and not isinstance(root, str):
        root = os.fspath(root)  # a pathlib.Path
    try:
        found = _from_snapshot(app, app_default, root, environ, now)
    except Exception:  # anything unexpected: the full resolution says what it is
        found = None
    if found is not None:
        return found
    from .api import evaluate

    if app is None:
        from .errors import UsageError

        raise UsageError("app is required; the global decision is `telemetry-policy audit`")
    return evaluate(app, app_default=app_default, root=root, environ=environ, now=now, record=True)


def _from_snapshot(
    app: str,
    app_default: "Mode | str | None",
    root: str | None,
    environ: "Mapping[str, str]",
    now: "datetime | None",
) -> "Decision | None":
    """The decision, or None when the snapshot alone cannot give it."""
    if not is_app_name(app) or app == "go":  # go: Go's own mode file is a source
        return None
    if isinstance(app_default, str) and not isinstance(app_default, Mode):
        app_default = MODES.get(app_default)
        if app_default is None:
            return None
    elif app_default is not None and not isinstance(app_default, Mode):
        return None
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        return None
    if environ.get(ENV_DISABLE, "").strip(", \t"):
        return None
    root = root or environ.get(ENV_ROOT) or "/"
    if not root.startswith("/") or not os.path.isdir(root):
        return None
    root = os.path.normpath(root)
    snapshot = load(root)
    if snapshot is None:
        return None
    from .entrypoints import find

    entries, twice = find(environ, True)
    if entries or twice:
        return None  # an installed plugin has its say
    # The user's choice: the environment, then the store's [app.NAME], then [all].
    choice = env_choice(environ)
    if choice is None:
        store = _store(environ)
        if store is not None:
            choice = store_choice(store, app)
            if choice is None:
                choice = store_choice(store, None)
    cap = dnt_cap(environ)
    caps = () if cap is None else (cap,)
    decision = _decide(app, app_default, snapshot, choice, caps, now, None)
    state = None
    if decision.mode is Mode.ON or _exists(environ):
        from .userstore import keep_state, load_first_on, state_of

        state = state_of(environ)
        first_on = None
        if decision.mode is Mode.ON:
            if now is None:
                from .clock import current_time

                now = current_time()
            first_on = load_first_on(state, app)
            decision = _decide(app, app_default, snapshot, choice, caps, now, first_on)
        if state is not None:
            keep_state(state, app, decision, first_on, now)  # type: ignore[arg-type]
    return decision


class _Unanswered(Exception):
    """Only the full resolution can say (and say why)."""


def _store(environ: "Mapping[str, str]") -> "Store | Exception | None":
    """The user store: None if there is none, the Store, or its error."""
    try:
        path = store_path(environ)
        if absent(path):
            return None
        from .ownfiles import read_own

        if read_own(path) is None:
            return None
    except PolicyError:
        raise _Unanswered from None  # its path cannot be found or read
    from .errors import UserStoreError
    from .userstore import load_store

    try:
        return load_store(path)
    except UserStoreError as e:
        return e


def _exists(environ: "Mapping[str, str]") -> bool:
    """Is there a state file to keep in step (one the full resolution would read)?"""
    try:
        path = state_path(environ)
        if absent(path):
            return False
        from .ownfiles import read_own

        return read_own(path) is not None
    except PolicyError:
        return True  # let userstore say (it reads it as nothing)


def _decide(
    app: str,
    app_default: "Mode | None",
    snapshot: "Snapshot",
    choice: "Choice | None",
    caps: "tuple[Choice, ...]",
    now: "datetime | None",
    first_on: "datetime | None",
) -> "Decision":
    """``decision.decide`` with the snapshot's values for the app: steps 3 to 7
    on plain values; the trace and layers are filled in when first read."""
    default, ceiling, delay = snapshot.values(app)
    problems = list(snapshot.problems)
    if default is None:
        default = Mode.OFF if app_default is None else app_default
    if ceiling is None:
        ceiling = Mode.ON
    if delay is None:
        delay = DEFAULT_UPLOAD_DELAY_DAYS
    if problems:  # fail closed
        ceiling = Mode.OFF
    default = min(default, ceiling)
    if choice is not None:
        mode = choice.mode
        if choice.error:
            problems.append(choice.error)
    else:
        mode = default
    mode = min(mode, ceiling)
    for cap in caps:
        mode = min(mode, cap.mode)
    on_since, may_upload, now = upload_window(mode, choice, first_on, now, delay)
    if problems:
        from .errors import one_line

        problems = [one_line(p) for p in problems]
    decision = object.__new__(Decision)
    decision.__dict__.update(
        app=app,
        mode=mode,
        default=default,
        ceiling=ceiling,
        upload_delay_days=delay,
        may_upload=may_upload,
        locked=ceiling is Mode.OFF,
        choice=choice,
        on_since=on_since,
        errors=tuple(problems),
        plugins=(),
        _explain=(snapshot, app_default, caps, now, first_on),
    )
    return decision

"""The user's own choices (``user.toml``) and upload-delay state (``state.toml``).

Both are small TOML files written atomically (temporary file, fsync,
rename) under an exclusive lock, so concurrent ``set`` calls lose no update
and readers never see half a file. A store that cannot be parsed is never
overwritten: what the user wrote is theirs to fix.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timezone
from typing import Any

from .errors import UserStoreError, one_line
from .model import Choice, Origin, Record
from .modes import MODES, Mode
from .policyfile import APP_NAME, show_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_HEADER = "# telemetry-policy {what}: written by `telemetry-policy {cmd}`; edit with care.\n"
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _home(environ: Mapping[str, str]) -> str:
    home = environ.get("HOME", "")
    if home.startswith("/"):
        return home
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        raise UserStoreError(
            "$HOME",
            f"not set, and uid {os.getuid()} has no passwd entry: your choices cannot be found",
            "set HOME (or XDG_CONFIG_HOME and XDG_STATE_HOME)",
        ) from None


def xdg_dir(environ: Mapping[str, str], var: str, fallback: str) -> str:
    base = environ.get(var, "")
    if not base.startswith("/"):  # XDG: relative values are ignored
        base = os.path.join(_home(environ), fallback)
    return os.path.join(base, "telemetry-policy")


def store_path(environ: Mapping[str, str]) -> str:
    return os.path.join(xdg_dir(environ, "XDG_CONFIG_HOME", ".config"), "user.toml")


def state_path(environ: Mapping[str, str]) -> str:
    return os.path.join(xdg_dir(environ, "XDG_STATE_HOME", ".local/state"), "state.toml")


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(), timezone.utc)
    return None


class Store(Record):
    """A parsed ``user.toml``: the ``[all]`` choice and one per app."""

    path: str
    all: Choice | None = None
    apps: dict[str, Choice] = {}  # noqa: RUF012 - never mutated

    def choice(self, app: str | None) -> Choice | None:
        return self.all if app is None else self.apps.get(app)


def _read(path: str) -> dict[str, Any] | None:
    """The TOML document at ``path``; None if absent. Raises UserStoreError.

    Read as ``safefs.read_own`` reads: never through a final link, never
    blocking on a FIFO, never a file another user owns.
    """
    from .safefs import UnsafePath, read_own

    try:
        data = read_own(path, 1024 * 1024)
    except UnsafePath as e:
        hint = (
            "fix its permissions (chmod u+rw) or remove it"
            if e.reason.startswith("cannot read")
            else "make it a regular file of your own, or remove it"
        )
        raise UserStoreError(path, e.reason, hint) from None
    if data is None:
        return None
    try:
        doc: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
        return doc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UserStoreError(
            path,
            f"not valid TOML: {one_line(str(e))}",
            "fix or remove it (it holds only your own choices)",
        ) from None
    except RecursionError:
        raise UserStoreError(
            path, "not valid TOML: nested too deeply", "fix or remove it"
        ) from None


_FIX_TABLE = "fix or remove that part (mode is off, local or on)"


def _choice(path: str, name: str, table: object) -> Choice:
    if not isinstance(table, dict) or set(table) - {"mode", "since"}:
        raise UserStoreError(path, f"[{name}] must hold only mode and since", _FIX_TABLE)
    mode = table.get("mode")
    if not isinstance(mode, str) or mode not in MODES:
        raise UserStoreError(path, f"[{name}] has unknown mode {show_value(mode)}", _FIX_TABLE)
    since = _when(table.get("since"))
    if "since" in table and since is None:
        raise UserStoreError(path, f"[{name}] since must be a date or date-time", _FIX_TABLE)
    return Choice(MODES[mode], Origin("user", path), since)


def load_store(path: str) -> Store:
    """Read the user store. Raises UserStoreError when it cannot be used."""
    doc = _read(path)
    if doc is None:
        return Store(path)
    if set(doc) - {"schema", "all", "app"} or doc.get("schema", 1) != 1:
        raise UserStoreError(
            path, "unexpected keys; only schema, [all] and [app.NAME] are read", _FIX_TABLE
        )
    choice_all = _choice(path, "all", doc["all"]) if "all" in doc else None
    apps = doc.get("app", {})
    if not isinstance(apps, dict):
        raise UserStoreError(path, "[app] must be a table", _FIX_TABLE)
    choices = {}
    for app, table in apps.items():
        if not APP_NAME.fullmatch(app):
            raise UserStoreError(path, f"invalid app name {show_value(app)}", _FIX_TABLE)
        choices[app] = _choice(path, f"app.{app}", table)
    return Store(path, choice_all, choices)


def _key(name: str) -> str:
    return name if _BARE.fullmatch(name) else '"' + name + '"'


def _table(name: str, entries: Mapping[str, str]) -> str:
    return f"\n[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items())


def _render_store(store: Store) -> str:
    def entries(c: Choice) -> dict[str, str]:
        out = {"mode": f'"{c.mode}"'}
        if c.since is not None:
            out["since"] = c.since.isoformat()
        return out

    text = _HEADER.format(what="user store", cmd="set") + "schema = 1\n"
    if store.all is not None:
        text += _table("all", entries(store.all))
    for app in sorted(store.apps):
        text += _table(f"app.{_key(app)}", entries(store.apps[app]))
    return text


def _locked_update(path: str, update: Callable[[], str | None]) -> None:
    """Run ``update`` under an exclusive lock and atomically write what it returns.

    The directory is the caller's own (``safefs.user_directory``): root never
    follows a user's link, the lock is opened without following one, and the
    file is replaced within the directory that was checked.
    """
    import fcntl

    from .safefs import Failed, UnsafePath, replace_in, user_directory

    directory, name = os.path.split(path)
    try:
        with user_directory(directory, create=True) as dfd:
            assert dfd is not None
            try:
                lock = os.open(
                    name + ".lock",
                    os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                    0o600,
                    dir_fd=dfd,
                )
            except OSError as e:
                raise UserStoreError(
                    path,
                    f"cannot write: {e.strerror}",
                    "nothing was changed; free space or fix permissions and retry",
                ) from None
            try:
                if not stat.S_ISREG(os.fstat(lock).st_mode):
                    raise UserStoreError(path + ".lock", "not a regular file", "remove it")
                fcntl.flock(lock, fcntl.LOCK_EX)
                text = update()
                if text is not None:
                    replace_in(dfd, name, text.encode(), 0o644, path)
            finally:
                os.close(lock)
    except UnsafePath as e:
        hint = "nothing was changed; free space or fix permissions and retry"
        reason = e.reason if isinstance(e, Failed) else f"{e.path} {e.reason}"
        raise UserStoreError(path, f"cannot write: {reason}", hint) from None
    except OSError as e:
        raise UserStoreError(
            path,
            f"cannot write: {e.strerror}",
            "nothing was changed; free space or fix permissions and retry",
        ) from None


def write_choice(path: str, app: str | None, mode: Mode | None, now: datetime) -> None:
    """Record ``mode`` for ``app`` (None: ``[all]``), or forget it when mode is None."""

    def update() -> str:
        store = load_store(path)  # raises on a corrupt store: never overwrite it
        apps = dict(store.apps)
        new = None if mode is None else Choice(mode, Origin("user", path), now)
        if app is None:
            store = Store(path, new, apps)
        else:
            if new is None:
                apps.pop(app, None)
            else:
                apps[app] = new
            store = Store(path, store.all, apps)
        return _render_store(store)

    _locked_update(path, update)


def load_first_on(path: str, app: str | None) -> datetime | None:
    """When ``resolve()`` first saw ``on`` for ``app``; None if never or unreadable."""
    try:
        doc = _read(path)
    except UserStoreError:
        return None
    table = (doc or {}).get("app" if app else "all", {})
    if app is not None and isinstance(table, dict):
        table = table.get(app, {})
    return _when(table.get("on_since")) if isinstance(table, dict) else None


def record_first_on(path: str, app: str | None, when: datetime | None) -> None:
    """Remember (or, with None, forget) when ``app`` became on for this user."""

    def update() -> str | None:
        try:
            doc = _read(path) or {}
        except UserStoreError:
            doc = {}  # state is ours alone: a corrupt copy is rebuilt
        apps = {k: v for k, v in doc.get("app", {}).items() if isinstance(v, dict)}
        top = doc.get("all") if isinstance(doc.get("all"), dict) else None
        if app is None:
            top = None if when is None else {"on_since": when}
        elif when is None:
            apps.pop(app, None)
        else:
            apps[app] = {"on_since": when}
        text = _HEADER.format(what="state", cmd="resolve (the library)")
        if top:
            text += _table("all", {"on_since": top["on_since"].isoformat()})
        for name in sorted(apps):
            since = _when(apps[name].get("on_since"))
            if since is not None and APP_NAME.fullmatch(name):
                text += _table(f"app.{_key(name)}", {"on_since": since.isoformat()})
        return text

    _locked_update(path, update)

"""The user's own choices (``user.toml``) and upload-delay state (``state.toml``).

Both are small TOML files written atomically (temporary file, fsync,
rename) under an exclusive lock, so concurrent ``set`` calls lose no update
and readers never see half a file. A store that cannot be parsed is never
overwritten: what the user wrote is theirs to fix.
"""

from __future__ import annotations

import os
import stat

from .errors import UserStoreError, one_line, show_value
from .model import MODES, Choice, Mode, Origin, Record, is_app_name
from .paths import state_path, store_path, xdg_dir

__all__ = [
    "Store",
    "load_store",
    "state_path",
    "store_choice",
    "store_path",
    "write_choice",
    "xdg_dir",
]

TYPE_CHECKING = False  # a client reads these files at every start: import little
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from typing import Any

    from .model import Decision

_HEADER = "# telemetry-policy {what}: written by `telemetry-policy {cmd}`; edit with care.\n"
_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _when(value: object) -> datetime | None:
    if value is None:
        return None
    from datetime import date, datetime, time, timezone

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


def _read(path: str, what: str) -> dict[str, Any] | None:
    """The TOML document at ``path``; None if absent. Raises UserStoreError.

    Read as ``ownfiles.read_own`` reads: never through a final link, never
    blocking on a FIFO, never a file another user owns. A file exactly as
    this library writes it is read without ``tomllib`` (``written``).
    """
    from .ownfiles import UnsafePath, read_own

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
    from . import written

    try:
        text = data.decode("utf-8")
        doc = written.parse(text, what)
        if doc is None:
            doc = _toml().loads(text)
        return doc
    except (UnicodeDecodeError, _toml().TOMLDecodeError) as e:
        raise UserStoreError(
            path,
            f"not valid TOML: {one_line(str(e))}",
            "fix or remove it (it holds only your own choices)",
        ) from None
    except RecursionError:
        raise UserStoreError(
            path, "not valid TOML: nested too deeply", "fix or remove it"
        ) from None


def _toml() -> Any:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


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
    doc = _read(path, "user store")
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
        if not is_app_name(app):
            raise UserStoreError(path, f"invalid app name {show_value(app)}", _FIX_TABLE)
        choices[app] = _choice(path, f"app.{app}", table)
    return Store(path, choice_all, choices)


def store_choice(store: Store | UserStoreError, app: str | None) -> Choice | None:
    """The user store's choice for ``app`` (None: ``[all]``); a store that
    cannot be read counts as ``off``, and says why."""
    if isinstance(store, UserStoreError):
        return Choice(Mode.OFF, Origin("user", store.path), None, f"{store}; read as off")
    return store.choice(app)


def _key(name: str) -> str:
    return name if name and _BARE.issuperset(name) else '"' + name + '"'


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


_UNCHANGED = "nothing was changed; free space or fix permissions and retry"


def _locked_update(path: str, update: Callable[[], str | None]) -> None:
    """Run ``update`` under an exclusive lock and atomically write what it returns.

    The directory is the caller's own (``ownfiles.user_directory``): root never
    follows a user's link, the lock is opened without following one, and the
    file is replaced within the directory that was checked.
    """
    import fcntl

    from .ownfiles import Failed, UnsafePath, user_directory
    from .safefs import replace_in

    directory, name = os.path.split(path)
    try:
        with user_directory(directory, create=True) as dfd:
            assert dfd is not None
            lock = os.open(
                name + ".lock",
                os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                0o600,
                dir_fd=dfd,
            )  # an OSError is reported below, as any other
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
        reason = e.reason if isinstance(e, Failed) else f"{e.path} {e.reason}"
        raise UserStoreError(path, f"cannot write: {reason}", _UNCHANGED) from None
    except OSError as e:
        raise UserStoreError(path, f"cannot write: {e.strerror}", _UNCHANGED) from None


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


def load_first_on(path: str | None, app: str | None) -> datetime | None:
    """When ``resolve()`` first saw ``on`` for ``app``; None if never or unreadable."""
    if path is None:
        return None
    try:
        doc = _read(path, "state")
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
            doc = _read(path, "state") or {}
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
            if since is not None and is_app_name(name):
                text += _table(f"app.{_key(name)}", {"on_since": since.isoformat()})
        return text

    _locked_update(path, update)


def state_of(environ: Mapping[str, str]) -> str | None:
    """The state file's path, or None without a home (upload waits: the safe side)."""
    from .errors import PolicyError

    try:
        return state_path(environ)
    except PolicyError:
        return None


def keep_state(
    state: str, app: str | None, decision: Decision, first_on: datetime | None, now: datetime
) -> None:
    """Keep the state file in step with ``decision``: the date ``app`` became
    on (``now``), cleared when it is not on."""
    from .errors import PolicyError

    if decision.mode is Mode.ON:
        if first_on is not None or decision.on_since != now:
            return  # recorded before, or the user's own choice says since when
        when: datetime | None = now
    elif load_first_on(state, app) is None:
        return
    else:
        when = None  # unrecorded means "not yet": upload stays off, never the reverse
    try:
        record_first_on(state, app, when)
    except PolicyError:
        pass

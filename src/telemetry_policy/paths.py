"""Paths, one of each rule: a path under the root prefix, the user's XDG
directories, who a system file may belong to, and reading a file without
blocking or reading too much.

A telemetry client imports this at every start: it imports only ``os`` and
``stat``.
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DIR_FLAGS", "ENV_ROOT", "READ_FLAGS", "absent", "join", "kind_of", "read_all", "state_path",
    "store_path", "trusted_owners", "untrusted", "xdg_dir",
]  # fmt: skip

#: The root prefix, as ``--root`` (docs/format.md#where-policy-lives).
ENV_ROOT = "TELEMETRY_POLICY_ROOT"
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)


def join(root: str, path: str) -> str:
    """``path`` (absolute, inside the image) as it is found on this machine."""
    return "/" + path.lstrip("/") if root == "/" else os.path.join(root, path.lstrip("/"))


def read_all(fd: int, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``fd``: one more than allowed tells it is too
    large, and a short read is finished."""
    data = b""
    while len(data) <= limit:
        chunk = os.read(fd, limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return data


def kind_of(mode: int) -> str:
    """What a file is, in words: '' for a regular file."""
    if stat.S_ISREG(mode):
        return ""
    for test, name in (
        (stat.S_ISLNK, "a symlink"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


# --- Who a system file may belong to (docs/format.md#where-policy-lives).


def trusted_owners(root: str) -> frozenset[int]:
    """Root, the running user and, under a root prefix, the owner of the root
    directory: the owners a policy file (or the snapshot) may have."""
    found = {0, os.getuid()}
    if root != "/":
        try:
            found.add(os.stat(root).st_uid)
        except OSError:
            pass
    return frozenset(found)


def untrusted(what: str, st: "os.stat_result", owners: "frozenset[int] | set[int]") -> str:
    """Why ``what`` (with ``st``) may not be trusted as system policy, or ''."""
    if st.st_uid not in owners:
        return (
            f"{what} is owned by uid {st.st_uid}, not root or you; "
            "run chown root on it if it is meant to be policy"
        )
    if st.st_mode & 0o022:
        both = st.st_mode & 0o022 == 0o022
        writers = "group and others" if both else "group" if st.st_mode & 0o020 else "others"
        return f"{what} is writable by {writers} (mode {stat.S_IMODE(st.st_mode):04o}); " + (
            "run chmod go-w on it"
        )
    return ""


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
    """``$var/telemetry-policy`` (XDG: a relative value is ignored), else under HOME."""
    base = environ.get(var, "")
    if not base.startswith("/"):
        base = os.path.join(_home(environ), fallback)
    return os.path.join(base, "telemetry-policy")


def store_path(environ: "Mapping[str, str]") -> str:
    return os.path.join(xdg_dir(environ, "XDG_CONFIG_HOME", ".config"), "user.toml")


def state_path(environ: "Mapping[str, str]") -> str:
    return os.path.join(xdg_dir(environ, "XDG_STATE_HOME", ".local/state"), "state.toml")


def absent(path: str) -> bool:
    """Is there certainly nothing at ``path``: a component is missing, and each
    one before it is a plain directory (no link to judge)? False means: let the
    reader look (it may find the file, or a reason to refuse it). A client with
    no store and no state then never loads the modules that read them."""
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
        if not stat.S_ISDIR(mode):  # a link, the file itself: the reader judges it
            return False
    return False

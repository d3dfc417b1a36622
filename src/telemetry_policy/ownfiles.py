"""The caller's own files (user store, state, caches, Go's mode file): where
they are, and reading them without being tricked.

Root must never be led by a user's links into writing elsewhere, and no
process may read a store or cache someone else could have forged. So a path
is walked from / one component at a time: a symlink is followed only if root
or the caller owns it; a directory is created only inside one the caller
owns; a file is read only if the caller owns it, non-blocking (a FIFO never
blocks). ``safefs`` writes them (in a directory walked the same way).

A telemetry client reads its user files through this module at every start:
it imports nothing beyond ``os`` and ``stat``.
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

import errno
import os
import stat

from .errors import PolicyError
from .paths import DIR_FLAGS, READ_FLAGS, kind_of, read_all

__all__ = ["MAX_READ", "Failed", "NotOwned", "UnsafePath", "read_own", "user_directory"]

MAX_READ = 1024 * 1024


class UnsafePath(PolicyError):
    """A path apply will not read or write; it was left as it is."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" + (f"; {hint}" if hint else ""))


class _Opened:
    """A directory's fd (or None, if absent) for a ``with`` block, closed on
    leaving it (not ``contextlib``, which costs a client's start more than the reading)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def __enter__(self) -> int | None:
        return self.fd

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


_MAX_LINKS = 40


class NotOwned(UnsafePath):
    """A user's file or directory that belongs to someone else."""


class Failed(UnsafePath):
    """The system refused an operation (permissions, space): ``reason`` is its word."""


def _verb(verb: str, e: "UnsafePath") -> "UnsafePath":
    """``e`` said as what the caller was doing: "cannot read: Permission denied"."""
    if isinstance(e, Failed):
        return UnsafePath(e.path, f"cannot {verb}: {e.reason}", "nothing was changed")
    return e


def user_directory(path: str, create: bool = False, mode: int = 0o700) -> "_Opened":
    """An fd for the caller's own directory ``path``; None if absent (and not created).

    Raises NotOwned when the directory, or a link on the way, belongs to
    another user, and UnsafePath when a component is not a directory.
    """
    return _Opened(_walk_user(path, create, mode))


def _walk_user(path: str, create: bool, mode: int) -> int | None:
    # One walk, component by component (longer than most: each kind of entry
    # on the way, and creating what is missing, is judged in the same loop).
    euid = os.geteuid()
    parts = [p for p in path.split("/") if p and p != "."]
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    done: list[str] = []
    links = 0
    try:
        while parts:
            part = parts.pop(0)
            if part == "..":
                parent = os.open("..", DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = parent
                if done:
                    done.pop()
                continue
            where = "/" + "/".join([*done, part])
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                owner = os.fstat(fd).st_uid
                if owner != euid:
                    raise _foreign(os.path.dirname(where) or "/", owner, euid) from None
                try:
                    os.mkdir(part, mode, dir_fd=fd)
                except FileExistsError:
                    pass
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                if st.st_uid not in (0, euid):
                    raise NotOwned(
                        where,
                        f"is a symlink owned by uid {st.st_uid}; not followed",
                        "run this as that user",
                    )
                links += 1
                if links > _MAX_LINKS:
                    raise UnsafePath(where, "too many levels of symlinks (a loop?)")
                target = os.readlink(part, dir_fd=fd)
                if target.startswith("/"):
                    os.close(fd)
                    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                    done = []
                parts = [p for p in target.split("/") if p and p != "."] + parts
                continue
            if not stat.S_ISDIR(st.st_mode):
                kind = kind_of(st.st_mode) or "a regular file"
                raise UnsafePath(where, f"is {kind}, not a directory", "move it away")
            nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
            done.append(part)
        owner = os.fstat(fd).st_uid
        if owner != euid:
            raise _foreign(path, owner, euid)
        return fd
    except BaseException as e:
        os.close(fd)
        if isinstance(e, OSError):
            raise Failed(path, e.strerror or str(e)) from None
        raise


def _foreign(path: str, owner: int, euid: int) -> "NotOwned":
    return NotOwned(
        path,
        f"belongs to uid {owner}, not to you (uid {euid})",
        "run this as that user, with their own HOME and XDG directories",
    )


def read_own(path: str, limit: int = MAX_READ) -> bytes | None:
    """The caller's own regular file at ``path``; None if absent. Never blocks,
    never follows a final link, refuses a file another user owns."""
    directory, name = os.path.split(path)
    try:
        return _read_own(directory, name, path, limit)
    except UnsafePath as e:
        raise _verb("read", e) from None


def _read_own(directory: str, name: str, path: str, limit: int) -> bytes | None:
    with user_directory(directory) as dfd:
        if dfd is None:
            return None
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=dfd)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise UnsafePath(
                    path, "is a symlink; not followed", "replace it with a file"
                ) from None
            raise UnsafePath(path, f"cannot read: {e.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafePath(path, f"is {kind_of(st.st_mode)}, not a regular file")
            if st.st_uid != os.geteuid():
                raise _foreign(path, st.st_uid, os.geteuid())
            data = read_all(fd, limit)
        finally:
            os.close(fd)
    if len(data) > limit:
        raise UnsafePath(path, f"larger than {limit // 1024} KiB")
    return data

"""Reading and writing other programs' files as root, without being tricked.

Every path is walked from the root prefix down one directory at a time with
``O_NOFOLLOW``, so a symlink anywhere below the root (``/etc/firefox`` pointing
at a user's directory, or an image's ``etc`` pointing at the host's) is refused,
never followed. Files are read non-blocking after ``lstat`` says they are
regular (a FIFO never blocks, a device is never opened) and replaced
atomically: a temporary file in the same directory, fsync, rename, fsync of
the directory. A file that already exists keeps its owner and mode.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from .ownfiles import (
    MAX_READ,
    Failed,
    NotOwned,
    UnsafePath,
    _Opened,
    _verb,
    read_own,
    user_directory,
)
from .paths import DIR_FLAGS, READ_FLAGS, join, kind_of, read_all

__all__ = [
    "MAX_READ",
    "Failed",
    "NotOwned",
    "Root",
    "UnsafePath",
    "kind_of",
    "read_own",
    "replace_in",
    "user_directory",
    "write_own",
]


def _unlink(name: str, dfd: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dfd)


def replace_in(
    dfd: int, name: str, data: bytes, mode: int, shown: str, owner: tuple[int, int] | None = None
) -> None:
    """Atomically replace ``name`` in directory ``dfd``: temporary file, fsync, rename."""
    tmp = f".{name}.telemetry-policy-{os.getpid()}.tmp"
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dfd)  # left by a process that died
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
            dir_fd=dfd,
        )  # fmt: skip
    except OSError as e:
        raise Failed(shown, e.strerror or str(e)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        os.fsync(dfd)
    except OSError as e:
        _unlink(tmp, dfd)
        raise Failed(shown, e.strerror or str(e)) from None


def write_own(path: str, data: bytes, mode: int = 0o644, dir_mode: int = 0o700) -> None:
    """Replace the caller's own file ``path`` atomically, creating its directories."""
    try:
        _write_own(path, data, mode, dir_mode)
    except UnsafePath as e:
        raise _verb("write", e) from None


def _write_own(path: str, data: bytes, mode: int, dir_mode: int) -> None:
    directory, name = os.path.split(path)
    with user_directory(directory, create=True, mode=dir_mode) as dfd:
        assert dfd is not None
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            # a link is replaced, never followed: the rename swaps the entry itself
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                raise UnsafePath(path, f"is {kind_of(st.st_mode)}, not a regular file")
        except FileNotFoundError:
            pass
        except OSError as e:
            raise Failed(path, e.strerror or str(e)) from None
        replace_in(dfd, name, data, mode, path, None)


class Root:
    """The root prefix apply writes under, and safe operations on paths inside it."""

    def __init__(self, root: str = "/") -> None:
        self.root = root
        self.created: list[str] = []  # directories made by write(), inside the image

    def shown(self, path: str) -> str:
        """``path`` (inside the image) as a person finds it on this machine."""
        return join(self.root, path)

    def directory(self, path: str, create: bool = False) -> _Opened:
        """An fd for the directory ``path`` (inside the image), walked without
        following links; None if it is absent and ``create`` is false.
        Created directories get mode 0755 whatever the umask."""
        return _Opened(self._open_directory(path, create))

    def _open_directory(self, path: str, create: bool) -> int | None:
        parts = [p for p in path.split("/") if p]
        if not path.startswith("/") or "\0" in path or any(p in (".", "..") for p in parts):
            raise UnsafePath(self.shown(path), "is not a plain absolute path inside the root")
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise UnsafePath(self.root, f"cannot open: {e.strerror}") from None
        try:
            for i, part in enumerate(parts):
                where = "/" + "/".join(parts[: i + 1])
                try:
                    nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    nfd = self._mkdir(fd, part, where)
                except OSError as e:
                    raise self._not_a_directory(fd, part, where, e) from None
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _mkdir(self, fd: int, part: str, where: str) -> int:
        try:
            os.mkdir(part, 0o755, dir_fd=fd)
        except FileExistsError:
            pass  # made meanwhile; opened (and checked) below
        except OSError as e:
            raise UnsafePath(self.shown(where), f"cannot create: {e.strerror}") from None
        try:
            nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.fchmod(nfd, 0o755)
        except OSError as e:
            raise self._not_a_directory(fd, part, where, e) from None
        self.created.append(where)
        return nfd

    def _not_a_directory(self, fd: int, part: str, where: str, e: OSError) -> UnsafePath:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            try:
                mode = os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode
            except OSError:
                mode = None
            if mode is not None:
                if stat.S_ISLNK(mode):
                    return UnsafePath(
                        self.shown(where),
                        "is a symlink; apply does not follow links in the paths it writes",
                        "replace the link with the directory it points to",
                    )
                return UnsafePath(
                    self.shown(where),
                    f"is {kind_of(mode)}, not a directory",
                    "move it away so apply can create the directory",
                )
        return UnsafePath(self.shown(where), f"cannot open: {e.strerror}")

    def lstat(self, path: str) -> os.stat_result | None:
        """The file at ``path`` itself (a link is not followed); None if absent."""
        directory, name = os.path.split(path)
        with self.directory(directory) as fd:
            if fd is None:
                return None
            try:
                return os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return None
            except OSError as e:
                raise UnsafePath(self.shown(path), f"cannot read: {e.strerror}") from None

    def _regular(self, path: str, st: os.stat_result) -> None:
        what = kind_of(st.st_mode)
        if what == "a symlink":
            raise UnsafePath(
                self.shown(path),
                "is a symlink; apply does not follow links it did not make",
                "replace the link with the file it points to, or remove it",
            )
        if what:
            raise UnsafePath(
                self.shown(path),
                f"is {what}, not a regular file; it was left as it is",
                "remove it or move it away",
            )

    def read(self, path: str, limit: int = MAX_READ) -> bytes | None:
        """The bytes of the regular file at ``path``; None if absent. Never blocks."""
        directory, name = os.path.split(path)
        with self.directory(directory) as dfd:
            if dfd is None:
                return None
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                return None
            except OSError as e:
                raise UnsafePath(self.shown(path), f"cannot read: {e.strerror}") from None
            self._regular(path, st)
            try:
                fd = os.open(name, READ_FLAGS, dir_fd=dfd)
            except OSError as e:
                raise UnsafePath(self.shown(path), f"cannot read: {e.strerror}") from None
            try:
                self._regular(path, os.fstat(fd))  # what was opened is what is judged
                data = read_all(fd, limit)
            except OSError as e:
                raise UnsafePath(self.shown(path), f"cannot read: {e.strerror}") from None
            finally:
                os.close(fd)
        if len(data) > limit:
            raise UnsafePath(
                self.shown(path), f"larger than {limit // 1024} KiB", "it was left as it is"
            )
        return data

    def write(
        self,
        path: str,
        data: bytes,
        mode: int = 0o644,
        keep: bool = True,
        owner: tuple[int, int] | None = None,
    ) -> None:
        """Replace ``path`` with ``data`` atomically. With ``keep``, an existing
        file keeps its owner and mode (a file shared with the admin); otherwise,
        and for a new file, it gets ``mode`` and ``owner`` (default: the caller)."""
        directory, name = os.path.split(path)
        with self.directory(directory, create=True) as dfd:
            assert dfd is not None
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                self._regular(path, st)
                if keep:
                    mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise UnsafePath(self.shown(path), f"cannot read: {e.strerror}") from None
            try:
                replace_in(dfd, name, data, mode, self.shown(path), owner)
            except UnsafePath as e:
                raise _verb("write", e) from None

    def remove(self, path: str) -> bool:
        """Remove the regular file at ``path``; False if it was absent."""
        directory, name = os.path.split(path)
        with self.directory(directory) as dfd:
            if dfd is None:
                return False
            try:
                self._regular(path, os.stat(name, dir_fd=dfd, follow_symlinks=False))
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                return False
            except OSError as e:
                raise UnsafePath(self.shown(path), f"cannot remove: {e.strerror}") from None
            os.fsync(dfd)
        return True

    def exists(self, path: str) -> bool:
        return self.lstat(path) is not None

    def rmdir(self, path: str) -> bool:
        """Remove the directory ``path`` if it is empty; False if it is not (or absent)."""
        parent, name = os.path.split(path)
        with self.directory(parent) as dfd:
            if dfd is None:
                return False
            try:
                os.rmdir(name, dir_fd=dfd)
            except OSError:
                return False
        return True

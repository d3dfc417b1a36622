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
from collections.abc import Iterator

from .errors import PolicyError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = (
    os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
)
MAX_READ = 1024 * 1024


class UnsafePath(PolicyError):
    """A path apply will not read or write; it was left as it is."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" + (f"; {hint}" if hint else ""))


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


def shown(root: str, path: str) -> str:
    """``path`` (inside the image) as a person finds it on this machine."""
    return path if root == "/" else os.path.join(root, path.lstrip("/"))


def _read_all(fd: int, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``fd`` (one more than allowed tells it is too large)."""
    data = b""
    while len(data) <= limit:
        chunk = os.read(fd, limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return data


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
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
        raise Failed(shown, e.strerror or str(e)) from None


class Root:
    """The root prefix apply writes under, and safe operations on paths inside it."""

    def __init__(self, root: str = "/") -> None:
        self.root = root
        self.created: list[str] = []  # directories made by write(), inside the image

    def shown(self, path: str) -> str:
        return shown(self.root, path)

    @contextlib.contextmanager
    def directory(self, path: str, create: bool = False) -> Iterator[int | None]:
        """An fd for the directory ``path`` (inside the image), walked without
        following links; None if it is absent and ``create`` is false.
        Created directories get mode 0755 whatever the umask."""
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
                    nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        fd = -1
                        yield None
                        return
                    nfd = self._mkdir(fd, part, where)
                except OSError as e:
                    raise self._not_a_directory(fd, part, where, e) from None
                os.close(fd)
                fd = nfd
            yield fd
        finally:
            if fd >= 0:
                os.close(fd)

    def _mkdir(self, fd: int, part: str, where: str) -> int:
        try:
            os.mkdir(part, 0o755, dir_fd=fd)
        except FileExistsError:
            pass  # made meanwhile; opened (and checked) below
        except OSError as e:
            raise UnsafePath(self.shown(where), f"cannot create: {e.strerror}") from None
        try:
            nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.fchmod(nfd, 0o755)
        except OSError as e:
            raise self._not_a_directory(fd, part, where, e) from None
        self.created.append(where)
        return nfd

    def _not_a_directory(self, fd: int, part: str, where: str, e: OSError) -> UnsafePath:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            with contextlib.suppress(OSError):
                mode = os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode
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
                fd = os.open(name, _READ_FLAGS, dir_fd=dfd)
            except OSError as e:
                raise UnsafePath(self.shown(path), f"cannot read: {e.strerror}") from None
            try:
                self._regular(path, os.fstat(fd))  # what was opened is what is judged
                data = _read_all(fd, limit)
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


# --- A user's own files (stores, caches, Go's mode file).
#
# Root must never be led by a user's links into writing elsewhere, and no
# process may read a store or cache someone else could have forged. So a
# path is walked from / one component at a time: a symlink is followed only
# if root or the caller owns it; a directory is created only inside one the
# caller owns; and a file is written only in a directory the caller owns.

_MAX_LINKS = 40


class NotOwned(UnsafePath):
    """A user's file or directory that belongs to someone else."""


class Failed(UnsafePath):
    """The system refused an operation (permissions, space): ``reason`` is its word."""


def _verb(verb: str, e: UnsafePath) -> UnsafePath:
    """``e`` said as what the caller was doing: "cannot read: Permission denied"."""
    if isinstance(e, Failed):
        return UnsafePath(e.path, f"cannot {verb}: {e.reason}", "nothing was changed")
    return e


@contextlib.contextmanager
def user_directory(path: str, create: bool = False, mode: int = 0o700) -> Iterator[int | None]:
    """An fd for the caller's own directory ``path``; None if absent (and not created).

    Raises NotOwned when the directory, or a link on the way, belongs to
    another user, and UnsafePath when a component is not a directory.
    """
    fd = _walk_user(path, create, mode)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def _walk_user(path: str, create: bool, mode: int) -> int | None:
    euid = os.geteuid()
    parts = [p for p in path.split("/") if p and p != "."]
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    done: list[str] = []
    links = 0
    try:
        while parts:
            part = parts.pop(0)
            if part == "..":
                parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
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
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, mode, dir_fd=fd)
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
            nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
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


def _foreign(path: str, owner: int, euid: int) -> NotOwned:
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
            fd = os.open(name, _READ_FLAGS, dir_fd=dfd)
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
            data = _read_all(fd, limit)
        finally:
            os.close(fd)
    if len(data) > limit:
        raise UnsafePath(path, f"larger than {limit // 1024} KiB")
    return data


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

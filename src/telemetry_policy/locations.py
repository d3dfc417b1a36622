"""Where system policy lives, and how each candidate file is judged (UAPI.6).

Everything is found under a root prefix so that an image can be audited from
outside, like ``systemctl --root``. Only regular files are read; everything
else named ``*.toml`` is invalid and fails closed, and nothing here can block.
"""

from __future__ import annotations

import errno
import os
import stat

from .errors import PolicyFileError
from .model import Origin, Record
from .paths import READ_FLAGS, join, kind_of, read_all, trusted_owners, untrusted
from .policymodel import MAX_SIZE, TOO_LARGE
from .precedence import DIRECTORIES
from .snapshot import LINK, LIST, OWNER, READ, TRUST, TYPE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .policymodel import Layer, PolicyFile

__all__ = ["DIRECTORIES", "MAX_SIZE", "Candidate", "chase", "discover", "file_layers"]


MAIN = "policy.toml"
DROPINS = "policy.d"
_MAX_LINKS = 40
_DANGLING = "(dangling symlink); remove the link or fix its target"


# While ``snapshot_build.build`` compiles: every path discovery looks at, and how
# (what a change to it could change). TYPE: what kind of file it is; OWNER:
# its owner; TRUST: owner and mode; LINK and READ: the link or file itself,
# not followed; LIST: the directory's entries.
recording: dict[tuple[str, str], None] | None = None


def _note(path: str, how: str) -> None:
    if recording is not None:
        recording[(path, how)] = None


class Candidate(Record):
    """One path that was considered, with its status and, if read, its bytes."""

    path: str  # the path on this machine (root prefix included)
    name: str  # file name: the sort and replacement key
    tier: str
    main: bool
    status: str  # applied (read), replaced, masked, invalid, refused, ignored
    reason: str = ""
    data: bytes | None = None


class _Unusable(Exception):
    def __init__(self, status: str, reason: str, missing: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.missing = missing  # the path is simply absent (no link dangles)


def chase(root: str, path: str, last_may_be_missing: bool = False) -> str:
    """Resolve ``path`` (absolute, inside the image) under ``root``.

    Symlinks are followed component by component, as the image itself would
    see them: absolute targets and ``..`` stay inside ``root``. Returns the
    resolved path inside the image (no component is a link). Raises _Unusable
    for loops and dangling links, with ``missing`` set when the path is
    simply absent; ``last_may_be_missing``: from a missing component on, the
    path is resolved as written, not refused (a mask names ``/dev/null``,
    which an image may lack).
    """
    parts = [p for p in path.split("/") if p and p != "."]
    done: list[str] = []
    links = 0
    from_link = 0  # how many of the next parts came from a link's target
    while parts:
        part = parts.pop(0)
        from_link = max(from_link - 1, 0)
        if part == "..":
            if done:
                done.pop()
            continue
        here = join(root, "/".join([*done, part]))
        _note(here, TYPE)
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            if last_may_be_missing:  # the rest cannot be links: resolved as written
                return os.path.normpath("/" + "/".join([*done, part, *parts]))
            if from_link:
                raise _Unusable(
                    "invalid",
                    f"{here} does not exist {_DANGLING}",
                ) from None
            raise _Unusable("invalid", f"{here} does not exist", missing=True) from None
        except OSError as e:
            raise _Unusable("invalid", f"cannot read {here}: {e.strerror}") from None
        if not stat.S_ISLNK(st.st_mode):
            done.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise _Unusable(
                "invalid",
                f"too many levels of symlinks at {here} (a loop?); fix or remove the link",
            )
        _note(here, LINK)
        target = os.readlink(here)
        if target.startswith("/"):
            done = []
        target_parts = [p for p in target.split("/") if p and p != "."]
        from_link = len(target_parts) + 1
        parts = target_parts + parts
    return "/" + "/".join(done)


def _chase_link(root: str, target: str, last_may_be_missing: bool = False) -> str:
    """``chase`` a link's target: an absent target is a dangling link."""
    try:
        return chase(root, target, last_may_be_missing)
    except _Unusable as e:
        if e.missing:
            raise _Unusable("invalid", f"{e.reason} {_DANGLING}") from None
        raise


def byte_order(name: str) -> bytes:
    """Names compare as the bytes they are on disk, as systemd and libeconf do
    (not by code point: a name that is not UTF-8 sorts by its bytes)."""
    return name.encode("utf-8", "surrogateescape")


_NOT_REGULAR = "not a regular file ({}); only regular files are read: remove or rename it"


def _check_trust(what: str, st: os.stat_result, owners: frozenset[int]) -> None:
    why = untrusted(what, st, owners)
    if why:
        raise _Unusable("refused", why)


def _trusted_dir(directory: str, owners: frozenset[int], dirs: dict[str, str]) -> None:
    """Refuse a directory others may write (memoised in ``dirs``). Raises _Unusable."""
    if directory not in dirs:
        _note(directory, TRUST)
        try:
            _check_trust(f"directory {directory}", os.stat(directory), owners)
            dirs[directory] = ""
        except _Unusable as e:
            dirs[directory] = e.reason
        except OSError as e:
            dirs[directory] = f"cannot check directory {directory}: {e.strerror}"
    if dirs[directory]:
        raise _Unusable("refused", dirs[directory])


def _read(root: str, inside: str, owners: frozenset[int], dirs: dict[str, str]) -> bytes | None:
    """Read a policy file, or return None when it is a mask.

    ``inside`` is the path within the image; ``dirs`` memoises the trust
    verdict of each directory during one discovery. Raises _Unusable.

    The directory that holds the entry (and, for a drop-in, its tier's
    directory) must pass the trust check before anything else: in a directory
    others may write, a symlink or a mask is another user's word as much as a
    file is, whatever it points to.
    """
    entry = join(root, inside)
    holder = os.path.dirname(entry)
    _trusted_dir(holder, owners, dirs)
    if os.path.basename(holder) == DROPINS:
        _trusted_dir(os.path.dirname(holder), owners, dirs)
    _note(entry, TYPE)
    try:
        st = os.lstat(entry)
        real = entry
        if stat.S_ISLNK(st.st_mode):
            _note(entry, LINK)
            text = os.readlink(entry)
            if not text.startswith("/"):
                text = os.path.join(os.path.dirname(inside), text)
            # a mask however spelled (/dev/./null, ../../dev/null, a link to such a
            # link): where it resolves inside the image, which may lack /dev/null
            if _chase_link(root, text, last_may_be_missing=True) == "/dev/null":
                return None
            real = join(root, _chase_link(root, text))  # dangling: says so
            _note(real, TYPE)
            st = os.lstat(real)
    except OSError as e:
        raise _Unusable("invalid", f"cannot read: {e.strerror}") from None
    kind = kind_of(st.st_mode)
    if kind:  # refuse before opening: opening a device can have effects
        raise _Unusable("invalid", _NOT_REGULAR.format(kind))
    _note(real, READ)
    try:
        fd = os.open(real, READ_FLAGS)
    except OSError as e:
        reason = "changed to a symlink while being read" if e.errno == errno.ELOOP else e.strerror
        raise _Unusable("invalid", f"cannot open: {reason}") from None
    try:
        st = os.fstat(fd)  # what was opened is what is judged
        kind = kind_of(st.st_mode)
        if kind:
            raise _Unusable("invalid", _NOT_REGULAR.format(kind))
        _check_trust("file" if real == entry else f"link target {real}", st, owners)
        _trusted_dir(os.path.dirname(real), owners, dirs)
        if st.st_size == 0:
            return None
        if st.st_size > MAX_SIZE:
            raise _Unusable("invalid", TOO_LARGE)
        data = read_all(fd, MAX_SIZE)
        if len(data) > MAX_SIZE:
            raise _Unusable("invalid", TOO_LARGE)
        return data or None
    except OSError as e:
        raise _Unusable("invalid", f"cannot read: {e.strerror}") from None
    finally:
        os.close(fd)


def _directory(root: str, inside: str) -> tuple[str | None, str]:
    """A directory of the image resolved inside ``root``: (path or None if absent, problem)."""
    try:
        real = chase(root, inside)
    except _Unusable as e:
        return None, "" if e.missing else e.reason
    _note(join(root, real), TYPE)
    if not os.path.isdir(join(root, real)):
        return None, f"{join(root, inside)} is not a directory"
    return real, ""


def _judge(
    root: str,
    tier: str,
    shown: str,
    real: str,
    main: bool,
    owners: frozenset[int],
    dirs: dict[str, str],
) -> Candidate:
    """Judge the file at ``real`` (inside the image), shown as ``shown``."""
    name = os.path.basename(real)
    try:
        data = _read(root, real, owners, dirs)
    except _Unusable as e:
        return Candidate(shown, name, tier, main, e.status, e.reason)
    if data is None:
        return Candidate(shown, name, tier, main, "masked", "mask: hides same-named files below")
    return Candidate(shown, name, tier, main, "applied", "", data)


def discover(root: str = "/") -> list[Candidate]:
    """Every candidate policy path under ``root``, judged, in application order.

    The main file comes first; drop-ins follow by file name whatever their
    directory. Candidates that lost (replaced, masked, ignored) are kept so
    that ``audit`` can show them. Paths are shown as written (``/etc/...``
    under the root) and read where they resolve inside the image. (Longer than
    most: the main file's and the drop-ins' rules of UAPI.6 read as one walk.)
    """
    if root != "/":
        _note(root, OWNER)
    owners = trusted_owners(root)
    dirs: dict[str, str] = {}
    found: list[Candidate] = []
    tiers: list[tuple[str, str, str]] = []  # (tier, nominal, resolved), highest first
    for tier, directory in reversed(DIRECTORIES):
        real, problem = _directory(root, directory)
        if problem:
            found.append(Candidate(join(root, directory), "", tier, True, "invalid", problem))
        elif real is not None:
            tiers.append((tier, directory, real))
    # The main file: only the copy in the highest directory counts.
    winner: Candidate | None = None
    for tier, directory, real in tiers:
        shown = join(root, f"{directory}/{MAIN}")
        if _absent(join(root, f"{real}/{MAIN}")):
            continue
        if winner is None:
            winner = _judge(root, tier, shown, f"{real}/{MAIN}", True, owners, dirs)
            found.append(winner)
        else:
            found.append(_lost(shown, MAIN, tier, True, winner))
    # Drop-ins: the highest same-named file wins; then all by name.
    by_name: dict[str, list[Candidate]] = {}
    for tier, directory, real in tiers:
        shown_dir = join(root, f"{directory}/{DROPINS}")
        dropins, problem = _directory(root, f"{real}/{DROPINS}")
        if problem:
            found.append(Candidate(shown_dir, DROPINS, tier, False, "invalid", problem))
        if dropins is None:
            continue
        _note(join(root, dropins), LIST)
        try:
            names = sorted(os.listdir(join(root, dropins)), key=byte_order)
        except OSError as e:
            found.append(
                Candidate(shown_dir, DROPINS, tier, False, "invalid", f"cannot list: {e.strerror}")
            )
            continue
        for name in names:
            shown = f"{shown_dir}/{name}"
            if not name.endswith(".toml") or name.startswith("."):
                why = "hidden file" if name.startswith(".") else "not a *.toml file"
                found.append(Candidate(shown, name, tier, False, "ignored", why))
                continue
            losers = by_name.setdefault(name, [])
            if not losers:
                real_file = f"{dropins}/{name}"
                losers.append(_judge(root, tier, shown, real_file, False, owners, dirs))
            else:
                losers.append(_lost(shown, name, tier, False, losers[0]))
    for name in sorted(by_name, key=byte_order):
        found.extend(by_name[name])
    return found


def _absent(path: str) -> bool:
    """Is nothing at ``path``? A path that cannot be checked (permissions) is
    not absent: it is judged, and fails closed, never silently skipped."""
    _note(path, TYPE)
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _lost(path: str, name: str, tier: str, main: bool, winner: Candidate) -> Candidate:
    if winner.status == "masked":
        return Candidate(path, name, tier, main, "masked", f"masked by {winner.path}")
    return Candidate(path, name, tier, main, "replaced", f"replaced by {winner.path}")


def search_paths(root: str = "/") -> list[tuple[str, str]]:
    """(tier, path) of every place policy is looked for, lowest precedence first."""
    out = []
    for tier, directory in DIRECTORIES:
        out.append((tier, join(root, f"{directory}/{MAIN}")))
        out.append((tier, join(root, f"{directory}/{DROPINS}/*.toml")))
    return out


# --- The candidates as policy layers.

# Parsed files by (path, exact bytes): a process that resolves often (an IDE,
# a language server) parses each file once. Keyed on the bytes just read, a
# hit can never be stale.
_parsed: dict[tuple[str, bytes], PolicyFile | PolicyFileError] = {}
_PARSED_MAX = 4096


def _parse(path: str, data: bytes) -> PolicyFile | PolicyFileError:
    key = (path, data)
    found = _parsed.get(key)
    if found is None:
        from .policyfile import parse_policy

        try:
            found = parse_policy(data, path)
        except PolicyFileError as e:
            found = e
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        _parsed[key] = found
    return found


def file_layers(root: str) -> list[Layer]:
    """Every candidate policy file under ``root`` as a layer with its status."""
    from .policymodel import Layer

    out = []
    for c in discover(root):
        if c.data is None:
            out.append(
                Layer(c.name, Origin("file", c.path), c.tier, c.status, c.reason, None, c.main)
            )
            continue
        policy = _parse(c.path, c.data)
        if isinstance(policy, PolicyFileError):
            origin = Origin("file", c.path, policy.line)
            out.append(Layer(c.name, origin, c.tier, "invalid", policy.message, None, c.main))
        else:
            out.append(Layer(c.name, Origin("file", c.path), c.tier, "applied", "", policy, c.main))
    return out

"""Compiling the snapshot (``apply``; ``snapshot`` reads it): the policy layers
and what step 2 leaves for each app, as the plain values ``marshal`` writes
(tuples, strings, ints and None)."""

from __future__ import annotations

import marshal
import os

from .model import Mode, Origin, Platform
from .paths import trusted_owners
from .policymodel import Condition, Layer, PolicyFile, Setting
from .snapshot import (
    _FULL,
    FORMAT,
    LINK,
    LIST,
    READ,
    TRUST,
    TYPE,
    Snapshot,
    _strings,
    _text,
    content,
    fingerprint,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MODE_KEYS = ("default", "ceiling")
_KEYS = (*_MODE_KEYS, "upload_delay_days")


# --- The layers as plain values, and back.


def _plain_origin(o: Origin) -> tuple[Any, ...]:
    return (o.kind, o.source, o.line)


def _plain_settings(settings: tuple[Setting, ...]) -> tuple[Any, ...]:
    return tuple((s.key, int(s.value), _plain_origin(s.origin)) for s in settings)


def encode_layer(layer: Layer) -> tuple[Any, ...]:
    p = layer.policy
    policy = None
    if p is not None:
        when = None if p.when is None else (p.when.distro, p.when.distro_version, p.when.line)
        policy = (
            p.source,
            _plain_settings(p.policy),
            tuple((app, _plain_settings(s)) for app, s in p.apps),
            when,
            p.trusted,
            p.disabled,
        )
    return (
        layer.name, _plain_origin(layer.origin), layer.tier, layer.status, layer.reason, policy,
        layer.main,
    )  # fmt: skip


def _line(value: object) -> int | None:
    if value is not None and type(value) is not int:
        raise ValueError("not a line number")
    return value


def _origin(value: tuple[Any, ...]) -> Origin:
    kind, source, line = value
    return Origin(_text(kind), _text(source), _line(line))


def _settings(value: tuple[Any, ...]) -> tuple[Setting, ...]:
    out = []
    for key, number, origin in value:
        if key not in _KEYS or type(number) is not int:
            raise ValueError("not a setting")
        out.append(Setting(key, Mode(number) if key in _MODE_KEYS else number, _origin(origin)))
    return tuple(out)


def decode_layer(value: tuple[Any, ...]) -> Layer:
    """A layer as ``snapshot_build.encode_layer`` wrote it; raises ValueError or
    TypeError if it is not one."""
    name, origin, tier, status, reason, policy, main = value
    decoded = None
    if policy is not None:
        source, settings, apps, when, trusted, disabled = policy
        condition = None
        if when is not None:
            distro, version, line = when
            condition = Condition(
                None if distro is None else _strings(distro),
                None if version is None else _text(version),
                _line(line),
            )
        decoded = PolicyFile(
            _text(source),
            _settings(settings),
            tuple((_text(app), _settings(s)) for app, s in apps),
            condition,
            _strings(trusted),
            _strings(disabled),
        )
    if type(main) is not bool:
        raise ValueError("not a flag")
    return Layer(
        _text(name), _origin(origin), _text(tier), _text(status), _text(reason), decoded, main
    )


def layers_of(snapshot: Snapshot) -> list[Layer]:
    """The policy files as layers, as discovery found them when it was compiled."""
    return [decode_layer(e) for e in snapshot.encoded]


# --- Compiling (by apply).


# A change made in the same clock tick as the one before it keeps its change
# time: a file is compiled only once its change time is older than a tick
# (the kernel's coarse clock: a few ms), or than 2 s where timestamps are whole
# seconds (ext3, small ext4 inodes).
RACY_SECONDS = 2.0
RACY_FINE = 0.02


def _racy_until(fp: tuple[int | str, ...]) -> float:
    ctime = int(fp[8])
    return ctime / 1e9 + (RACY_SECONDS if ctime % 1_000_000_000 == 0 else RACY_FINE)


def build(root: str) -> bytes:
    """The snapshot of the policy files under ``root`` as they are now.

    Discovery runs twice: the paths the first run looked at are fingerprinted
    before and after the second, which counts only if nothing changed while
    it read and every change time was older than a clock tick when it started
    (else it waits, a few seconds at most, and tries again)."""
    import time

    from . import locations

    paths: list[tuple[str, str]] | None = None
    for _ in range(6):
        before = None if paths is None else [fingerprint(p, how) for p, how in paths]
        started = time.time()
        recorded: dict[tuple[str, str], None] = {}
        locations.recording = recorded
        try:
            compiled = _compile(root)
        finally:
            locations.recording = None
        after = [fingerprint(p, how) for p, how in recorded]
        if paths == list(recorded) and before == after:
            until = max(
                (_racy_until(fp) for (_, how), fp in zip(paths, after, strict=True)
                 if how in _FULL and fp[0] != "E"),
                default=0.0,
            )  # fmt: skip
            wait = until - started
            if wait <= 0:
                seen = _needed(paths, after)
                held = _held(paths)
                if held is None:
                    break
                return marshal.dumps((FORMAT, root, trusted_owners(root), seen, held, *compiled))
            else:
                time.sleep(min(wait, RACY_SECONDS))
        paths = list(recorded)
    # Still changing, or unreadable where only its content proves it unchanged:
    # a snapshot that is never used (clients read the files).
    never = ((root, TYPE, ("E", -1)),)
    return marshal.dumps(
        (FORMAT, root, trusted_owners(root), never, (), (), {None: (None,) * 3}, (), None)
    )


def _held(paths: list[tuple[str, str]]) -> tuple[tuple[str, str, Any], ...] | None:
    """What each file read and directory listed on a read-only file system holds
    (there a change time proves nothing), or None if one cannot be read."""
    held = []
    for path, how in paths:
        if how not in (READ, LIST):
            continue
        try:
            if not os.statvfs(path).f_flag & os.ST_RDONLY:
                continue
        except OSError:
            continue  # gone: its fingerprint says so
        found = content(path, how)
        if found is None:
            return None
        held.append((path, how, found))
    return tuple(held)


def _needed(
    paths: list[tuple[str, str]], fps: list[tuple[int | str, ...]]
) -> tuple[tuple[str, str, tuple[int | str, ...]], ...]:
    """The fingerprints to check, less those another one of the same path
    covers: all of a file read or link followed (not followed) covers its kind;
    all of a directory listed covers its kind, owner and mode."""
    whole = {p for p, how in paths if how in (LINK, READ)}
    listed = {p for p, how in paths if how == LIST}
    return tuple(
        (p, how, fp)
        for (p, how), fp in zip(paths, fps, strict=True)
        if not (how == TYPE and (p in whole or p in listed)) and not (how == TRUST and p in listed)
    )


def _compile(root: str) -> tuple[Any, ...]:
    """(layers, what step 2 leaves per app, problems, platform), as the full
    resolution finds them with no plugin: every app named in a file, and None
    for any other."""
    from .context import Context
    from .errors import PlatformError
    from .layerindex import LayerIndex
    from .locations import file_layers
    from .precedence import STEP2, Values

    found = file_layers(root)
    context = Context(root, {}, None)
    platform: tuple[Any, ...] | None = None

    def read_platform() -> Platform:
        nonlocal platform
        try:
            p = context.platform()
        except PlatformError as e:
            platform = ("error", str(e))
            raise
        platform = ("ok", p.id, p.version, p.like)
        return p

    index = LayerIndex.build(found, read_platform)
    system: dict[str | None, tuple[Any, ...]] = {}
    for app in [None, *index.named()]:
        values = Values.start(None)
        index.values(app, values, STEP2)
        system[app] = values.plain()
    encoded = tuple(encode_layer(layer) for layer in found)
    return encoded, system, tuple(index.problems), platform

"""``[when]`` conditions: does a policy file apply on this platform?

Pure functions of a Condition and a Platform (``platform`` reads the
os-release they are judged on).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

from .model import Platform
from .policymodel import Condition

__all__ = ["VERSION_EXPR", "compare_versions", "holds"]

VERSION_EXPR = r"\s*(==|!=|<=|>=|<|>)?\s*([0-9]+(?:\.[0-9]+)*)\s*"
_OPS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _numeric(version: str) -> tuple[int, ...] | None:
    parts = version.strip().split(".")
    if not version.strip() or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def compare_versions(expr: str, version: str) -> bool | None:
    """``compare_versions(">=12", "12.4")`` -> True; None when ``version``
    is not a dotted number (the condition is then false)."""
    m = re.fullmatch(VERSION_EXPR, expr)
    have = _numeric(version)
    if m is None or have is None:
        return None
    want = tuple(int(p) for p in m.group(2).split("."))
    # compare component by component, padding with zeros (12 == 12.0)
    width = max(len(want), len(have))
    want += (0,) * (width - len(want))
    have += (0,) * (width - len(have))
    return _OPS[m.group(1) or "=="](have, want)


def holds(when: Condition, platform: Platform) -> tuple[bool, str]:
    """Whether a ``[when]`` table holds, and if not, why not (for audit)."""
    if when.distro is not None:
        names = {platform.id, *platform.like}
        if not names.intersection(when.distro):
            have = platform.id or "unknown"
            like = f" (like {' '.join(platform.like)})" if platform.like else ""
            return (
                False,
                f"[when] distro = {list(when.distro)} does not match {have}{like}",
            )
    if when.distro_version is not None:
        result = compare_versions(when.distro_version, platform.version)
        if result is None:
            return False, (
                f"[when] distro_version {when.distro_version!r}: "
                f"this system's version {platform.version!r} is not numeric"
            )
        if not result:
            return False, (
                f"[when] distro_version {when.distro_version!r} does not match "
                f"version {platform.version}"
            )
    return True, ""

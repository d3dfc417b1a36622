"""telemetry-policy: a distribution's telemetry policy, consulted before the user's.

    from telemetry_policy import resolve
    d = resolve("mytool", app_default="local")
    if d.may_collect: ...

Names are imported on first use: a telemetry client imports this at every
start, and pays only for what it touches.
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

TYPE_CHECKING = False  # importing typing would cost a client 3 ms at every start
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "resolve": "api",
    "set_mode": "api",
    "RefusedError": "errors",
    "Mode": "model",
    "PRESETS": "model",
    "Decision": "model",
    "Choice": "model",
    "Layer": "policymodel",
    "Origin": "model",
    "Platform": "model",
    "Context": "context",
    "PolicyError": "errors",
    "PolicyFileError": "errors",
    "PluginError": "errors",
    "UsageError": "errors",
    "hookimpl": "hookspecs",
}
__all__ = [
    "PRESETS",
    "Choice",
    "Context",
    "Decision",
    "Layer",
    "Mode",
    "Origin",
    "Platform",
    "PluginError",
    "PolicyError",
    "PolicyFileError",
    "RefusedError",
    "UsageError",
    "hookimpl",
    "resolve",
    "set_mode",
]

if TYPE_CHECKING:
    from .api import resolve, set_mode
    from .context import Context
    from .errors import PluginError, PolicyError, PolicyFileError, RefusedError, UsageError
    from .hookspecs import hookimpl
    from .model import PRESETS, Choice, Decision, Mode, Origin, Platform
    from .policymodel import Layer


def __getattr__(name: str) -> "Any":
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'telemetry_policy' has no attribute {name!r}")
    import sys

    __import__(f"{__name__}.{module}")  # not importlib: a client's start never loads it
    value = getattr(sys.modules[f"{__name__}.{module}"], name)
    globals()[name] = value
    return value

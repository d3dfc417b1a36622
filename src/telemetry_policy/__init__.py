"""telemetry-policy: a distribution's telemetry policy, consulted before the user's.

    from telemetry_policy import resolve
    d = resolve("mytool", app_default="local")
    if d.may_collect: ...

Names are imported on first use: a telemetry client imports this at every
start, and pays only for what it touches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "resolve": "api",
    "set_mode": "api",
    "RefusedError": "errors",
    "Mode": "modes",
    "PRESETS": "modes",
    "Decision": "decision",
    "Choice": "model",
    "Layer": "model",
    "Origin": "model",
    "Platform": "model",
    "Context": "hookspecs",
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
    from .decision import Decision
    from .errors import PluginError, PolicyError, PolicyFileError, RefusedError, UsageError
    from .hookspecs import Context, hookimpl
    from .model import Choice, Layer, Origin, Platform
    from .modes import PRESETS, Mode


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'telemetry_policy' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

"""Telemetry modes and the presets that name a (default, ceiling) pair.

They are defined in ``model`` (one module fewer for a client to import at
start); this module is where they have always been imported from.
"""

from __future__ import annotations

from .model import MODES, PRESETS, Mode

__all__ = ["MODES", "PRESETS", "Mode"]

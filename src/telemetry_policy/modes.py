"""Telemetry modes and the presets that name a (default, ceiling) pair."""

from __future__ import annotations

import enum


class Mode(enum.IntEnum):
    """How much telemetry data may leave the machine, ordered so that
    ``min()`` is the more private choice: ``off < local < on`` (as in Go)."""

    OFF = 0
    LOCAL = 1
    ON = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Mode:
        """``Mode.parse("local")`` -> ``Mode.LOCAL``; anything else raises ValueError."""
        try:
            return MODES[text]
        except (KeyError, TypeError):
            raise ValueError(f"unknown mode {text!r} (use one of: off, local, on)") from None


MODES: dict[str, Mode] = {str(m): m for m in Mode}

#: preset name -> (default, ceiling); DESIGN.md section 2.
PRESETS: dict[str, tuple[Mode, Mode]] = {
    "forced-off": (Mode.OFF, Mode.OFF),
    "local-only": (Mode.LOCAL, Mode.LOCAL),
    "opt-in": (Mode.OFF, Mode.ON),
    "local-first": (Mode.LOCAL, Mode.ON),
    "opt-out": (Mode.ON, Mode.ON),
}

"""Configuration drop-ins and flag files of system programs.

``conf``: a drop-in the program reads after its own configuration, holding
one assignment (popularity-contest's ``/etc/popularity-contest.d/``).
``flag``: a file whose mere presence switches telemetry off (netdata's
``.opt-out-from-anonymous-statistics``). Both are whole files apply owns.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..catalogue import Plan
from . import OwnedFile, comment, wants

KINDS = ("conf", "flag")


def desired(plans: Sequence[Plan]) -> list[OwnedFile]:
    out = []
    for plan in plans:
        if not wants(plan):
            continue
        t = plan.target
        body = comment() + (f"{t.off}\n" if t.kind == "conf" else "")
        out.append(OwnedFile(t.path, body.encode(), (t.name,)))
    return out

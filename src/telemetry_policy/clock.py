"""The library's clock: the current time, which the testing kit can move.

``datetime`` is imported only when a resolution needs the time (a mode
``on``, a recorded date): a client that is told ``off`` never loads it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

#: seconds added to the real time; set only by ``telemetry_policy.testing``
shift = 0.0


def current_time() -> datetime:
    """Now, timezone-aware (UTC)."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    return now + timedelta(seconds=shift) if shift else now

"""The library's clock: the current time, which the testing kit can move.

``datetime`` is imported only when a resolution needs the time (a mode
``on``, a recorded date): a client that is told ``off`` never loads it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

#: seconds added to the real time; set only by ``telemetry_policy.testing``
shift = 0.0
#: the same for another process (``resolve --json`` in a tool's test), honoured
#: only under a root prefix other than / (a test root): never a real system's delay
ENV_SHIFT = "TELEMETRY_POLICY_TEST_CLOCK"


def current_time(environ: Mapping[str, str] | None = None, root: str | None = None) -> datetime:
    """Now, timezone-aware (UTC), moved by the testing kit."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    extra = shift
    if environ is not None and root and root != "/" and environ.get(ENV_SHIFT):
        try:
            extra += float(environ[ENV_SHIFT])
        except ValueError:
            pass  # not a number: the real time
    return now + timedelta(seconds=extra) if extra else now

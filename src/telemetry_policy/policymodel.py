"""Policy files and layers as values, the trace of a decision, and the
context of a resolution: the model the full resolver works with (``model``
holds what a client's answer needs)."""

from __future__ import annotations

from .model import Origin, Platform, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from typing import Any

    from .model import Value


class Setting(Record):
    """One key of a policy table (``default``, ``ceiling``, ``upload_delay_days``)."""

    key: str
    value: Value
    origin: Origin


class Condition(Record):
    """A ``[when]`` table: the layer applies only where every part holds."""

    distro: tuple[str, ...] | None = None
    distro_version: str | None = None  # as written, e.g. ">=12"
    line: int | None = None


class PolicyFile(Record):
    """A parsed, validated policy document (a file, or a plugin's layer)."""

    source: str
    policy: tuple[Setting, ...] = ()
    apps: tuple[tuple[str, tuple[Setting, ...]], ...] = ()
    when: Condition | None = None
    trusted: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    def app(self, name: str) -> tuple[Setting, ...]:
        for app, settings in self.apps:
            if app == name:
                return settings
        return ()


#: statuses a layer can have, in the words ``audit`` uses.
STATUSES = (
    "applied",  # read and used
    "restricted",  # a plugin layer used only where it tightens (the rest dropped)
    "replaced",  # a same-named file in a higher directory wins
    "masked",  # hidden by an empty file or a /dev/null link (or is such a mask)
    "skipped",  # its [when] does not hold here
    "invalid",  # unusable: resolution fails closed
    "refused",  # failed the trust check: resolution fails closed
    "ignored",  # not a *.toml name
    "disabled",  # a plugin layer blocked by [plugins] disabled
)


class Layer(Record):
    """One candidate source of system policy and what became of it."""

    name: str  # sort name: drop-ins and plugin layers apply in this order
    origin: Origin
    tier: str  # vendor, local, runtime, admin, or plugin
    status: str = "applied"
    reason: str = ""
    policy: PolicyFile | None = None
    main: bool = False  # the main policy.toml applies before every drop-in

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        # origin breaks ties (two plugins may name a layer alike): never listing order
        return (0 if self.main else 1, self.name, self.origin.kind, self.origin.source)

    @property
    def failed(self) -> bool:
        return self.status in ("invalid", "refused")


class Trace(Record):
    """How one value of a decision was arrived at."""

    key: str
    value: Value
    origin: Origin
    overrode: tuple[tuple[Value, Origin], ...] = ()
    note: str = ""


class Context:
    """The edges of one resolution: root prefix, environment and clock.

    ``platform()`` reads the root's os-release the first time it is asked,
    so resolutions without ``[when]`` never read os-release. Raises
    PlatformError when it cannot be read. ``now`` is the time the resolution
    was asked for (read from the clock the first time it is needed).
    """

    def __init__(self, root: str, environ: Mapping[str, str], now: datetime | None) -> None:
        self.root = root
        self.environ = environ
        self._now = now
        self.cache: dict[str, Any] = {}  # per-resolution memo for plugins
        self._platform: Platform | None = None

    @property
    def now(self) -> datetime:
        if self._now is None:
            from .clock import current_time

            self._now = current_time()
        return self._now

    def platform(self) -> Platform:
        if self._platform is None:
            from .platform import detect

            self._platform = detect(self.root)
        return self._platform

"""Policy files and layers as values: what the full resolution reads and
explains (``model`` holds what a client's answer needs)."""

from __future__ import annotations

from .model import Origin, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .model import Value


#: A policy file over this size is invalid (docs/format.md#where-policy-lives).
MAX_SIZE = 1024 * 1024
TOO_LARGE = (
    f"file is larger than {MAX_SIZE // 1024} KiB; a policy file is a few lines of TOML: "
    "check what was written there"
)


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
    def sort_key(self) -> tuple[int, bytes, str, str]:
        # names as bytes, as discovery orders them; origin breaks ties (two plugins may
        # name a layer alike): never listing order
        name = self.name.encode("utf-8", "surrogateescape")
        return (0 if self.main else 1, name, self.origin.kind, self.origin.source)

    @property
    def failed(self) -> bool:
        return self.status in ("invalid", "refused")


class PluginInfo(Record):
    name: str
    kind: str  # built-in or external
    hooks: tuple[str, ...]
    status: str = "loaded"  # loaded, disabled, blocked, error
    distribution: str = ""
    version: str = ""
    trusted: bool = False  # may raise values, not only lower them
    note: str = ""  # why it is not loaded or not trusted

"""The hooks a telemetry-policy plugin can implement (project ``telemetry_policy``),
and the Context they receive.

Built-in sources (policy files, user store, environment) implement these
exactly like external plugins do. Import ``hookimpl`` from here or from the
package to mark your implementations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from .context import Context

if TYPE_CHECKING:
    from .model import Choice, Decision

__all__ = ["PROJECT", "Context", "hookimpl", "hookspec"]

PROJECT = "telemetry_policy"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def telemetry_policy_layers(  # type: ignore[empty-body]
    context: Context,
) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Contribute system policy layers.

    When: once per resolution, before any user input is read.
    Returns: a list of ``(name, policy)`` pairs, ``policy`` being a table of
    the policy file format (``{"policy": {"ceiling": "local"}}``). They apply
    with the drop-ins, ordered by name. An untrusted plugin may only tighten.
    """


@hookspec(firstresult=True)
def telemetry_policy_user_choice(app: str | None, context: Context) -> Choice | None:
    """Report the user's choice for ``app`` from an app-native store.

    When: after ``TELEMETRY_POLICY_MODE`` and the user store's ``[app.APP]``
    found nothing (``app`` is None for the global decision).
    Returns: a Choice, or None when the user made no choice there. First wins.
    """


@hookspec
def telemetry_policy_caps(app: str | None, context: Context) -> Choice | None:
    """Report an environment convention that can only lower the mode.

    When: after the user's choice is clamped to the ceiling.
    Returns: a Choice whose mode is the most the convention allows, or None.
    """


@hookspec
def telemetry_policy_decided(decision: Decision) -> None:
    """Observe a finished decision (logging, metrics). Errors here are reported.

    When: after every resolution made by the library's ``resolve()``.
    Returns: nothing.
    """


@hookspec
def telemetry_policy_export_targets() -> Iterable[object]:  # type: ignore[empty-body]
    """Name ways to project the policy onto other tools' own switches.

    When: by ``telemetry-policy export``.
    Returns: export target descriptions.
    """

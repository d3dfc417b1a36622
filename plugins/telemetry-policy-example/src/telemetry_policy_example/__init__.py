"""Example telemetry-policy plugin: on a CI runner, cap every app at ``local``.

A plugin is any object (here, this module) with functions marked
``@hookimpl`` and named after the hook. It is found through the entry point
group ``telemetry_policy`` (see pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telemetry_policy import Context, hookimpl


@hookimpl
def telemetry_policy_layers(context: Context) -> list[tuple[str, Mapping[str, Any]]]:
    """One layer, named for where it sorts among the drop-ins, in policy-file form."""
    if context.environ.get("CI", "") in ("", "0", "false"):
        return []
    return [("80-ci-runner", {"policy": {"ceiling": "local"}})]

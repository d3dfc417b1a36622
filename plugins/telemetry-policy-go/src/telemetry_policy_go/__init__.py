"""telemetry-policy plugin for Go: the user's ``go telemetry`` mode is their choice for ``go``.

Since telemetry-policy 0.2 the core reads Go's mode file itself (the built-in
``go-mode-file`` source, which also lowers it at login); this plugin remains
for installations that list it, and answers with the core's own reader.
Registered through the ``telemetry_policy`` entry point ``go``.
"""

from __future__ import annotations

from telemetry_policy import Choice, Context, hookimpl
from telemetry_policy.gofile import mode_file, read_choice

APP = "go"
__all__ = ["APP", "mode_file", "read_choice", "telemetry_policy_user_choice"]


@hookimpl
def telemetry_policy_user_choice(app: str | None, context: Context) -> Choice | None:
    """The user's ``go telemetry`` choice, for app ``go`` only."""
    if app != APP:
        return None
    path = mode_file(context.environ)
    return None if path is None else read_choice(path)

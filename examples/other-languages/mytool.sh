#!/bin/sh
# A client in shell: it asks the telemetry-policy command, no Python of its own.
#   exit 0: decided (a problem, if any, is on stderr and has lowered the mode);
#   exit 2: a wrong call; not installed, or anything else: collect nothing.
# --record keeps the date telemetry first became on, so the upload delay ends.
# The answer is JSON: read it as JSON (python3 here; jq works as well), never as text.
decision=$(telemetry-policy resolve --json --record --app-default local mytool 2>/dev/null) ||
    decision=""
answer=$(printf '%s' "$decision" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    print("yes" if d["may_collect"] is True else "no", "yes" if d["may_upload"] is True else "no")
except (ValueError, KeyError, TypeError):
    print("no no")
' 2>/dev/null) || answer="no no"
collect=${answer% *} upload=${answer#* }
echo "collect=$collect upload=$upload"

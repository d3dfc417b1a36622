#!/bin/sh
# A client in shell: it asks the telemetry-policy command, no Python of its own.
#   exit 0: decided (a problem, if any, is on stderr and has lowered the mode);
#   exit 2: a wrong call; not installed, or anything else: collect nothing.
# --record keeps the date telemetry first became on, so the upload delay ends.
decision=$(telemetry-policy resolve --json --record --app-default local mytool 2>/dev/null) ||
    decision=""
case $decision in
    *'"may_collect": true'*) collect=yes ;;
    *) collect=no ;;
esac
case $decision in
    *'"may_upload": true'*) upload=yes ;;
    *) upload=no ;;
esac
echo "collect=$collect upload=$upload"

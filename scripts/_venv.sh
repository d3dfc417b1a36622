# Sourced by scripts/audit and scripts/test: make $VENV (default .venv) with $PYTHON.
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        echo "$0: cannot create $VENV with $PYTHON; on Debian: apt-get install python3-venv" >&2
        exit 2
    fi
fi

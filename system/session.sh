# /usr/share/telemetry-policy/session.sh: the login side of telemetry-policy,
# sourced by /etc/profile.d/telemetry-policy.sh (login shells) and by the user
# environment generator 60-telemetry-policy (systemd user sessions). POSIX sh.
#
# _tp_session sets _tp_env to NAME=value lines: the telemetry switches of this
# user's decision for each program. It also lowers Go's own mode file to the
# user's decision for go (never raising it). A user who made no choice of
# their own (no telemetry-policy user store) gets what `telemetry-policy
# apply` precomputed from the system's policy, in shell alone; a user who ran
# `telemetry-policy set` gets `telemetry-policy session` (a Python start).
# Nothing here reads the environment the login inherited, but HOME and
# XDG_CONFIG_HOME to find the user's own files.
_tp_keep() {  # append the NAME=value lines of stdin to _tp_env (comments and the like: dropped)
    while IFS= read -r _tp_line; do
        case $_tp_line in
            DO_NOT_TRACK=*) [ -n "${_tp_upload:-}" ] && continue ;;
            [A-Za-z_]*=*) ;;
            *) continue ;;
        esac
        _tp_env="$_tp_env$_tp_line
"
    done
}

_tp_session() {
    _tp_env= _tp_upload= _tp_cur= _tp_ceil=
    _tp_dir=/var/lib/telemetry-policy/session
    [ -r "$_tp_dir/default.env" ] || return 1
    if [ -z "${HOME:-}" ]; then  # no home: no choice of one's own, no Go file
        _tp_keep <"$_tp_dir/default.env"
        return 0
    fi
    case ${XDG_CONFIG_HOME:-} in
        /*) _tp_conf=$XDG_CONFIG_HOME ;;
        *) _tp_conf=$HOME/.config ;;
    esac
    if [ -e "$_tp_conf/telemetry-policy/user.toml" ] || [ -L "$_tp_conf/telemetry-policy/user.toml" ]; then
        # Exit 0, or 1 with a problem reported (it still prints the fail-closed
        # switches); anything else (not installed, killed): the default below.
        _tp_out=$(telemetry-policy session --format env 2>/dev/null)
        case $? in
            0 | 1)
                _tp_keep <<_TP_EOF
$_tp_out
_TP_EOF
                return 0
                ;;
        esac
    fi
    _tp_go_lower
    # The precomputed switches; DO_NOT_TRACK (nothing leaves the machine) is
    # left out when the user's own choice in Go lets it upload.
    [ "$_tp_cur:$_tp_ceil" = on:on ] && _tp_upload=1
    _tp_keep <"$_tp_dir/default.env"
    return 0
}

# Go: its own mode file, brought to the default and ceiling apply wrote. A file
# the user wrote (go telemetry) is only lowered; one that still holds exactly
# what this hook last wrote (kept in the user's state directory, as
# `telemetry-policy session` keeps it) follows the policy both ways. Go reads
# exactly `off` as off and exactly `on` as on, anything else as local
# (golang.org/x/telemetry, internal/telemetry/dir.go). Only in the user's own
# directories: a login whose HOME or XDG_CONFIG_HOME is someone else's (root
# started with a user's) leaves Go alone.
_tp_go_lower() {
    _tp_def= _tp_want=
    if [ -r "$_tp_dir/go" ]; then
        while read -r _tp_a _tp_b; do
            case $_tp_a in off | local | on) _tp_def=$_tp_a _tp_ceil=$_tp_b ;; esac
        done <"$_tp_dir/go"
    fi
    [ -n "$_tp_def" ] && [ -O "$HOME" ] || return 0
    [ ! -e "$_tp_conf" ] || [ -O "$_tp_conf" ] || return 0
    case ${XDG_STATE_HOME:-} in
        /*) _tp_state=$XDG_STATE_HOME/telemetry-policy ;;
        *) _tp_state=$HOME/.local/state/telemetry-policy ;;
    esac
    _tp_go=$_tp_conf/go/telemetry/mode
    _tp_rec=
    [ -f "$_tp_state/go-mode" ] && [ ! -L "$_tp_state/go-mode" ] && [ -O "$_tp_state/go-mode" ] &&
        _tp_rec=$(head -c 64 "$_tp_state/go-mode" 2>/dev/null)
    if [ -L "$_tp_go" ]; then
        _tp_want=$_tp_def _tp_cur=off  # not Go's file but a link: replaced
    elif [ -f "$_tp_go" ]; then
        # Go's reading, or above it where sh cannot tell (never below): ASCII
        # white space trimmed; exactly off is off, exactly local (or another
        # word Go reads as local) local, anything else on, the safe side
        _tp_raw=$(head -c 64 "$_tp_go" 2>/dev/null)
        _tp_ws=$(printf ' \t\n\v\f\rx') && _tp_ws=${_tp_ws%x}
        _tp_cur=${_tp_raw#"${_tp_raw%%[!$_tp_ws]*}"}
        _tp_cur=${_tp_cur%"${_tp_cur##*[!$_tp_ws]}"}
        case $_tp_cur in
            off | "off "*) _tp_cur=off ;;
            local | "local "* | [a-z]*) case $_tp_cur in on | "on "*) _tp_cur=on ;; *) _tp_cur=local ;; esac ;;
            *) _tp_cur=on ;;
        esac
        if [ -n "$_tp_rec" ] && [ "$_tp_raw" = "$_tp_rec" ]; then
            [ "$_tp_cur" = "$_tp_def" ] || _tp_want=$_tp_def  # the hook's: follows the policy
        else
            case $_tp_ceil:$_tp_cur in
                *:off | local:local | on:local | on:on) ;;
                *) _tp_want=$_tp_ceil ;;
            esac
        fi
    elif [ ! -e "$_tp_go" ] && [ "$_tp_def" = off ]; then
        _tp_want=off  # no file is Go's default, local: above the default off
    fi
    [ -n "$_tp_want" ] || return 0
    _tp_line="$_tp_want $(date -u +%Y-%m-%d)"
    _tp_put "$_tp_go" || return 0
    _tp_put "$_tp_state/go-mode"
    return 0
}

# Write $_tp_line (no newline) to $1 atomically, in a directory of the user's own.
_tp_put() {
    mkdir -p "${1%/*}" 2>/dev/null && [ -O "${1%/*}" ] || return 1
    _tp_tmp=$(mktemp "${1%/*}/.tp.XXXXXX" 2>/dev/null) || return 1
    if printf '%s' "$_tp_line" >"$_tp_tmp" 2>/dev/null &&
        chmod 644 "$_tp_tmp" 2>/dev/null && mv -f "$_tp_tmp" "$1" 2>/dev/null; then
        return 0
    fi
    rm -f "$_tp_tmp" 2>/dev/null
    return 1
}

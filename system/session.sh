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

# Go: its own mode file, lowered to the default and ceiling apply wrote, never
# raised. Only in the user's own directories: a login whose HOME or
# XDG_CONFIG_HOME is someone else's (root started with a user's) leaves Go alone.
_tp_go_lower() {
    _tp_def= _tp_want=
    if [ -r "$_tp_dir/go" ]; then
        while read -r _tp_a _tp_b; do
            case $_tp_a in off | local | on) _tp_def=$_tp_a _tp_ceil=$_tp_b ;; esac
        done <"$_tp_dir/go"
    fi
    [ -n "$_tp_def" ] && [ -O "$HOME" ] || return 0
    [ ! -e "$_tp_conf" ] || [ -O "$_tp_conf" ] || return 0
    _tp_go=$_tp_conf/go/telemetry/mode
    if [ -L "$_tp_go" ]; then
        _tp_want=off _tp_cur=off  # not Go's file but a link: read as off, replaced
    elif [ -f "$_tp_go" ]; then
        # the user's own choice in Go, clamped to the ceiling; a word Go would not read: off
        _tp_cur=$(head -c 64 "$_tp_go" 2>/dev/null | tr '\000\n' '? ')
        _tp_cur=${_tp_cur%% *}
        case $_tp_ceil:$_tp_cur in
            *:off | local:local | on:local | on:on) ;;
            off:local | off:on | local:on) _tp_want=$_tp_ceil ;;
            *) _tp_want=off _tp_cur=off ;;
        esac
    elif [ ! -e "$_tp_go" ] && [ "$_tp_def" = off ]; then
        _tp_want=off  # no file is Go's default, local: above the default off
    fi
    [ -n "$_tp_want" ] || return 0
    mkdir -p "${_tp_go%/*}" 2>/dev/null && [ -O "${_tp_go%/*}" ] || return 0
    _tp_tmp=$(mktemp "${_tp_go%/*}/.mode.XXXXXX" 2>/dev/null) || return 0
    if printf '%s %s' "$_tp_want" "$(date -u +%Y-%m-%d)" >"$_tp_tmp" 2>/dev/null &&
        chmod 644 "$_tp_tmp" 2>/dev/null && mv -f "$_tp_tmp" "$_tp_go" 2>/dev/null; then
        return 0
    fi
    rm -f "$_tp_tmp" 2>/dev/null
    return 0
}

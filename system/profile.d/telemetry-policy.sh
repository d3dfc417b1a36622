# /etc/profile.d/telemetry-policy.sh: every login shell (console, su -, ssh)
# gets the telemetry switches of its user's decision, and Go's mode file is
# lowered to it. See telemetry-policy(1), "session"; the work is done by
# /usr/share/telemetry-policy/session.sh, from what `telemetry-policy apply`
# wrote. Shipped by the telemetry-policy package.
if [ -r /usr/share/telemetry-policy/session.sh ]; then
    . /usr/share/telemetry-policy/session.sh
    if _tp_session; then
        _tp_ifs=$IFS
        IFS='
'
        for _tp_line in $_tp_env; do
            export "$_tp_line"
        done
        IFS=$_tp_ifs
    fi
    unset -f _tp_session _tp_keep _tp_go_lower _tp_put
    unset _tp_env _tp_dir _tp_conf _tp_def _tp_ceil _tp_want _tp_cur _tp_a _tp_b _tp_go \
        _tp_line _tp_ifs _tp_out _tp_upload _tp_tmp _tp_state _tp_rec _tp_raw _tp_ws
fi

#!/bin/sh
# Start coturn with turnserver.conf (beside this file) and the secret the gateways share,
# SOTONG_TURN_SECRET. The secret goes into a copy of the file, readable by coturn's user
# only, in SOTONG_TURN_RUN_DIR (a tmpfs in compose, an emptyDir in Kubernetes): not on
# the command line, which any local user can read (review L11). Arguments are passed on
# to turnserver after the file's settings.
set -eu
: "${SOTONG_TURN_SECRET:?set SOTONG_TURN_SECRET (the gateways' own)}"
config=${SOTONG_TURN_CONFIG:-/etc/sotong-coturn/turnserver.conf}
run_dir=${SOTONG_TURN_RUN_DIR:-/run/sotong-coturn}
umask 077
mkdir -p "$run_dir"
{
    cat "$config"
    printf '\nstatic-auth-secret=%s\n' "$SOTONG_TURN_SECRET"
    printf 'pidfile=%s/turnserver.pid\n' "$run_dir"
    if [ -n "${SOTONG_TURN_EXTERNAL_IP:-}" ]; then
        printf 'external-ip=%s\n' "$SOTONG_TURN_EXTERNAL_IP"
    fi
} > "$run_dir/turnserver.conf"
exec turnserver -c "$run_dir/turnserver.conf" "$@"

#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the feedback-store tests.
#
# Source it from .ci/run (bash):   source scripts/ci-postgres.sh
# It installs Debian's postgresql package if missing (as root), creates a
# cluster with initdb as the unprivileged user "postgres" in a temporary
# folder, starts it on a free loopback port, exports FAHRAS_TEST_POSTGRES_URL
# and stops and deletes the cluster when the sourcing shell exits (EXIT trap
# calling fahras_postgres_stop; a later trap must call it too).  Run directly
# (bash scripts/ci-postgres.sh -- CMD ...) it runs CMD with the cluster up.
# On failure it leaves FAHRAS_TEST_POSTGRES_URL unset: with CI=true the
# PostgreSQL tests then fail instead of skipping.

fahras_postgres_start() {
    local bindir pguser port
    if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "ci-postgres: installing postgresql (apt-get)" >&2
            apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
                || { echo "ci-postgres: apt-get install postgresql failed" >&2; return 1; }
        else
            echo "ci-postgres: PostgreSQL is not installed and cannot be installed here (need root + apt-get)" >&2
            return 1
        fi
    fi
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    pguser=postgres
    id "$pguser" >/dev/null 2>&1 || pguser=nobody
    FAHRAS_PG_DIR=$(mktemp -d /tmp/fahras-pg.XXXXXX)
    chown "$pguser" "$FAHRAS_PG_DIR" 2>/dev/null || true
    chmod 700 "$FAHRAS_PG_DIR"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    _as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u "$pguser" -- "$@"; else "$@"; fi; }
    _as_pg "$bindir/initdb" -D "$FAHRAS_PG_DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$FAHRAS_PG_DIR/initdb.log" 2>&1 \
        || { echo "ci-postgres: initdb failed:" >&2; cat "$FAHRAS_PG_DIR/initdb.log" >&2; return 1; }
    _as_pg "$bindir/pg_ctl" -D "$FAHRAS_PG_DIR/data" -l "$FAHRAS_PG_DIR/server.log" -w -t 60 \
        -o "-p $port -k $FAHRAS_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
        || { echo "ci-postgres: the server did not start:" >&2; cat "$FAHRAS_PG_DIR/server.log" >&2; return 1; }
    FAHRAS_PG_CTL="$bindir/pg_ctl"
    FAHRAS_PG_USER=$pguser
    _as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres fahras_test \
        || { echo "ci-postgres: createdb failed" >&2; return 1; }
    export FAHRAS_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/fahras_test"
    echo "ci-postgres: $("$bindir/postgres" --version) on 127.0.0.1:$port" >&2
}

fahras_postgres_stop() {
    if [ -n "${FAHRAS_PG_DIR:-}" ] && [ -d "$FAHRAS_PG_DIR/data" ]; then
        if [ "$(id -u)" = 0 ]; then
            runuser -u "$FAHRAS_PG_USER" -- "$FAHRAS_PG_CTL" -D "$FAHRAS_PG_DIR/data" -m fast -w stop >/dev/null 2>&1
        else
            "$FAHRAS_PG_CTL" -D "$FAHRAS_PG_DIR/data" -m fast -w stop >/dev/null 2>&1
        fi
    fi
    [ -n "${FAHRAS_PG_DIR:-}" ] && rm -rf "$FAHRAS_PG_DIR"
    FAHRAS_PG_DIR=
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # run, not sourced
    set -euo pipefail
    [ "${1:-}" = "--" ] && shift
    trap fahras_postgres_stop EXIT
    fahras_postgres_start
    "$@"
else
    trap fahras_postgres_stop EXIT
    fahras_postgres_start || unset FAHRAS_TEST_POSTGRES_URL
fi

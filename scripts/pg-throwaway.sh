#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and local hacking.
#
#   scripts/pg-throwaway.sh start DIR   # initdb (if needed) + start; prints the URL on stdout
#   scripts/pg-throwaway.sh stop DIR    # fast shutdown (no error if not running)
#   scripts/pg-throwaway.sh url DIR     # print the URL of a running cluster
#
# The cluster lives entirely in DIR: data in DIR/data, unix socket in DIR, log in
# DIR/postgres.log. It listens on 127.0.0.1 only, on a free port, with trust auth for
# 127.0.0.1 and the socket only. The printed URL is
#   postgresql+psycopg://prefkit@127.0.0.1:PORT/prefkit
#
# initdb/postgres refuse to run as root: when run as root, the server runs as an
# unprivileged OS user (env PREFKIT_PG_OS_USER, else `postgres` from the Debian package,
# else `prefkit-pg`, created on demand) and DIR is chowned to it. DIR's parent folders must
# be traversable by that user (e.g. a mktemp -d under /tmp, not under /root).
#
# Binaries: env PREFKIT_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin with initdb.
# Port: env PREFKIT_PG_PORT, else a free one chosen by the kernel.
set -euo pipefail

DB_USER=prefkit
DB_NAME=prefkit

log() { printf '[pg-throwaway] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { die "usage: $0 start|stop|url DIR"; }

(( $# == 2 )) || usage
cmd=$1
dir=$2
[[ -n "$dir" ]] || usage
# Absolute, because the server commands run from / (see as_owner).
[[ "$dir" == /* ]] || dir="$PWD/$dir"

find_bindir() {
    if [[ -n "${PREFKIT_PG_BINDIR:-}" ]]; then
        [[ -x "$PREFKIT_PG_BINDIR/initdb" ]] || die "PREFKIT_PG_BINDIR=$PREFKIT_PG_BINDIR has no initdb"
        printf '%s\n' "$PREFKIT_PG_BINDIR"
        return
    fi
    local best="" d
    # Version-sorted so that e.g. 16 beats 15.
    while IFS= read -r d; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && best=$d
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    [[ -n "$best" ]] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (run scripts/install-system-deps.sh)"
    printf '%s\n' "$best"
}

# The OS user that owns and runs the cluster. Empty when we are not root (run as ourselves).
pick_os_user() {
    if [[ "$(id -u)" -ne 0 ]]; then
        printf '\n'
        return
    fi
    if [[ -n "${PREFKIT_PG_OS_USER:-}" ]]; then
        id -u "$PREFKIT_PG_OS_USER" >/dev/null 2>&1 || die "PREFKIT_PG_OS_USER=$PREFKIT_PG_OS_USER does not exist"
        printf '%s\n' "$PREFKIT_PG_OS_USER"
    elif id -u postgres >/dev/null 2>&1; then
        printf 'postgres\n'
    else
        if ! id -u prefkit-pg >/dev/null 2>&1; then
            log "creating system user prefkit-pg"
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin prefkit-pg \
                || id -u prefkit-pg >/dev/null 2>&1 || die "could not create user prefkit-pg"
        fi
        printf 'prefkit-pg\n'
    fi
}

# as_owner USER CMD...: run CMD as USER (or as ourselves when USER is empty), from /, so a
# working directory the unprivileged user cannot read does not matter.
as_owner() {
    local user=$1
    shift
    if [[ -z "$user" ]]; then
        (cd / && "$@")
    else
        (cd / && runuser -u "$user" -- "$@")
    fi
}

free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

url_for_port() { printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$1" "$DB_NAME"; }

is_running() {
    local bindir=$1 user=$2
    [[ -f "$dir/data/PG_VERSION" ]] || return 1
    as_owner "$user" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

data_owner() {
    if [[ "$(id -u)" -ne 0 ]]; then
        printf '\n'
    elif [[ -d "$dir/data" ]]; then
        local owner
        owner=$(stat -c %U "$dir/data")
        [[ "$owner" == root ]] && owner=""
        printf '%s\n' "$owner"
    else
        pick_os_user
    fi
}

start() {
    local bindir user port attempt
    bindir=$(find_bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)

    if [[ -d "$dir/data" ]]; then
        user=$(data_owner)
    else
        user=$(pick_os_user)
    fi

    if is_running "$bindir" "$user"; then
        port=$(cat "$dir/port")
        log "already running in $dir on port $port"
        url_for_port "$port"
        return
    fi

    # unix socket path limit is 107 bytes: DIR/.s.PGSQL.NNNNN
    (( ${#dir} <= 90 )) || die "DIR path too long for a unix socket ($dir); use a shorter one"

    if [[ -n "$user" ]]; then
        chown "$user:" "$dir"
        chmod 0700 "$dir"
        as_owner "$user" test -w "$dir" \
            || die "user $user cannot write $dir (is a parent folder private, e.g. /root?); use e.g. \$(mktemp -d)"
    fi

    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        log "initdb in $dir/data (binaries: $bindir${user:+, OS user: $user})"
        as_owner "$user" "$bindir/initdb" -D "$dir/data" -U "$DB_USER" -E UTF8 --locale=C \
            --auth=trust --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        # Trust, but only on the socket in DIR and on 127.0.0.1; nothing else may connect.
        as_owner "$user" tee "$dir/data/pg_hba.conf" >/dev/null <<'EOF'
# prefkit throwaway cluster: trust on the private unix socket and 127.0.0.1 only
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
EOF
        echo "include_if_exists = 'prefkit.conf'" | as_owner "$user" tee -a "$dir/data/postgresql.conf" >/dev/null
    fi

    for attempt in 1 2 3 4 5; do
        port=${PREFKIT_PG_PORT:-$(free_port)}
        as_owner "$user" tee "$dir/data/prefkit.conf" >/dev/null <<EOF
# written by scripts/pg-throwaway.sh on every start
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
        log "starting on 127.0.0.1:$port (attempt $attempt)"
        if as_owner "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
            break
        fi
        if [[ -n "${PREFKIT_PG_PORT:-}" || $attempt -eq 5 ]]; then
            tail -n 30 "$dir/postgres.log" >&2 || true
            die "postgres failed to start"
        fi
        log "start failed, retrying with another port"
    done
    printf '%s\n' "$port" >"$dir/port"

    # Create the application database once (idempotent across restarts).
    local exists
    exists=$(as_owner "$user" "$bindir/psql" -h "$dir" -p "$port" -U "$DB_USER" -d postgres -tAq \
        -c "select 1 from pg_database where datname = '$DB_NAME'")
    if [[ "$exists" != 1 ]]; then
        as_owner "$user" "$bindir/createdb" -h "$dir" -p "$port" -U "$DB_USER" "$DB_NAME"
    fi

    local url
    url=$(url_for_port "$port")
    printf '%s\n' "$url" >"$dir/url"
    log "ready: $url"
    printf '%s\n' "$url"
}

stop() {
    local bindir user
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        log "no cluster in $dir; nothing to stop"
        return
    fi
    bindir=$(find_bindir)
    user=$(data_owner)
    if is_running "$bindir" "$user"; then
        log "stopping cluster in $dir"
        as_owner "$user" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    else
        log "cluster in $dir is not running"
    fi
}

url() {
    local bindir user
    bindir=$(find_bindir)
    user=$(data_owner)
    is_running "$bindir" "$user" || die "no running cluster in $dir"
    url_for_port "$(cat "$dir/port")"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    *) usage ;;
esac

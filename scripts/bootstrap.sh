#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install prefkit into it, editable, with optional extras.
#
#   scripts/bootstrap.sh            # base dependencies (enough for `prefkit demo`)
#   scripts/bootstrap.sh test       # + [test] extras
#   scripts/bootstrap.sh test,postgres
#
# Idempotent and fast on repeat: pip runs only when pyproject.toml changed since the last
# install, or when extras are asked for that were not installed yet. The record of the last
# install is the stamp file .venv/.prefkit-install-stamp (hash of pyproject.toml + extras).
#
# Env: PYTHON (interpreter used to create the venv; default: python3, python3.12, python3.11),
#      VENV (default: .venv).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

EXTRAS=${1:-}
VENV=${VENV:-.venv}
STAMP="$VENV/.prefkit-install-stamp"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

py_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
    local c
    for c in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then
            printf '%s\n' "$c"
            return
        fi
    done
    die "need Python >= 3.11 (set PYTHON=/path/to/python3.11)"
}

install_venv_module() {
    # Debian's python3 lacks ensurepip (so `-m venv` fails) until python3.X-venv is installed.
    local py=$1 ver
    ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        die "'$py' has no working venv/ensurepip module (on Debian: apt-get install python${ver}-venv)"
    fi
    log "'$py' has no ensurepip; installing python${ver}-venv with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q -o DPkg::Lock::Timeout=300
    apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "python${ver}-venv" \
        || apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends python3-venv
}

make_venv() {
    local py
    py=$(find_python)
    if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        install_venv_module "$py"
    fi
    log "creating $VENV with $py ($("$py" --version 2>&1))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV" || { rm -rf "$VENV"; die "'$py -m venv $VENV' failed"; }
}

# (Re)create the venv when missing or broken (e.g. the interpreter it points at is gone).
if [[ ! -x "$VENV/bin/python" ]] || ! py_ok "$VENV/bin/python" || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    make_venv
fi

hash=$(sha256sum <pyproject.toml | cut -d' ' -f1)

# Normalised, sorted extras list, e.g. "postgres,test".
norm() { tr ',' '\n' <<<"$1" | sed 's/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd, - || true; }
want=$(norm "$EXTRAS")

have_hash=""
have_extras=""
if [[ -f "$STAMP" ]]; then
    have_hash=$(sed -n 's/^hash=//p' "$STAMP")
    have_extras=$(sed -n 's/^extras=//p' "$STAMP")
fi

# The editable install maps the repo root onto sys.path via a .pth file. hatchling writes it
# only when the package folders hold files, so a first install made while they were empty (or
# a repo moved elsewhere) needs a reinstall even though pyproject.toml did not change.
editable_ok() {
    local py="$VENV/bin/python" root=$PWD
    [[ "$py" == /* ]] || py="$root/$py"
    (cd / && "$py" -c '
import os, sys
root = os.path.realpath(sys.argv[1])
sys.exit(0 if root in {os.path.realpath(p) for p in sys.path if p} else 1)
' "$root") >/dev/null 2>&1
}
if [[ -n "$have_hash" ]] && ! editable_ok; then
    log "editable install does not map $PWD onto sys.path; reinstalling"
    have_hash=""
fi

if [[ "$have_hash" == "$hash" ]]; then
    missing=$(comm -23 <(tr ',' '\n' <<<"$want" | grep -v '^$' || true) <(tr ',' '\n' <<<"$have_extras" | grep -v '^$' || true))
    if [[ -z "$missing" ]]; then
        log "$VENV up to date (extras: ${have_extras:-none}); skipping pip"
        exit 0
    fi
    # Same pyproject: what was installed before is still installed.
    install_extras=$(norm "$want,$have_extras")
else
    install_extras=$want
fi

target="."
[[ -n "$install_extras" ]] && target=".[$install_extras]"
log "pip install -e \"$target\""
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$target"
printf 'hash=%s\nextras=%s\n' "$hash" "$install_extras" >"$STAMP"
log "done (extras: ${install_extras:-none})"

#!/usr/bin/env bash
# Install the Debian packages the test suite needs, and nothing when they are already there.
#
#   - Chromium (/usr/bin/chromium) + fonts, for Playwright browser tests (Playwright's own
#     browser download is not available here; tests launch Debian's Chromium by path), and
#     libatomic1 for Playwright's bundled node driver.
#   - PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb), for the throwaway
#     clusters started by scripts/pg-throwaway.sh.
#
# Idempotent and non-interactive. Runs apt-get only when something is missing, and
# `apt-get update` at most once per run. Needs root (or sudo) only in that case.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

log() { printf '[install-system-deps] %s\n' "$*" >&2; }

# Packages to install.
wanted=()

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- Chromium ------------------------------------------------------------------------
if [[ -x /usr/bin/chromium ]]; then
    log "chromium: present (/usr/bin/chromium)"
else
    log "chromium: missing -> will install package 'chromium'"
    wanted+=(chromium)
fi

# Fonts so that screenshots render text (Chromium itself does not pull in a font here).
for font_pkg in fonts-dejavu-core fonts-liberation; do
    if pkg_installed "$font_pkg"; then
        log "$font_pkg: present"
    else
        log "$font_pkg: missing -> will install"
        wanted+=("$font_pkg")
    fi
done

# Playwright's bundled Node.js driver links against libatomic, which a minimal Debian lacks.
if pkg_installed libatomic1; then
    log "libatomic1: present"
else
    log "libatomic1: missing (needed by Playwright's node driver) -> will install"
    wanted+=(libatomic1)
fi

# --- PostgreSQL server ---------------------------------------------------------------
shopt -s nullglob
initdbs=(/usr/lib/postgresql/*/bin/initdb)
shopt -u nullglob
if (( ${#initdbs[@]} > 0 )); then
    log "postgresql: present (${initdbs[*]})"
else
    log "postgresql: server binaries missing -> will install package 'postgresql'"
    wanted+=(postgresql)
fi

if (( ${#wanted[@]} == 0 )); then
    log "all system dependencies present; skipping apt-get"
    exit 0
fi

# --- apt-get ---------------------------------------------------------------------------
if ! command -v apt-get >/dev/null 2>&1; then
    log "ERROR: missing packages (${wanted[*]}) and no apt-get on this machine; install them by hand"
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
    else
        log "ERROR: need root (or sudo) to install: ${wanted[*]}"
        exit 1
    fi
fi

APT_OPTS=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

log "running: apt-get update"
"${SUDO[@]}" apt-get update -q -o DPkg::Lock::Timeout=300

log "running: apt-get install --no-install-recommends ${wanted[*]}"
"${SUDO[@]}" apt-get install "${APT_OPTS[@]}" --no-install-recommends "${wanted[@]}"

# --- Verify ------------------------------------------------------------------------------
status=0
if [[ ! -x /usr/bin/chromium ]]; then
    log "ERROR: /usr/bin/chromium still missing after install"
    status=1
fi
shopt -s nullglob
initdbs=(/usr/lib/postgresql/*/bin/initdb)
shopt -u nullglob
if (( ${#initdbs[@]} == 0 )); then
    log "ERROR: PostgreSQL server binaries still missing after install"
    status=1
fi
if (( status == 0 )); then
    log "done: installed ${wanted[*]}"
fi
exit "$status"

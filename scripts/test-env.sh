#!/usr/bin/env bash
# What the test suite needs on this machine, installed or started if missing: PostgreSQL on
# 127.0.0.1:5432 trusting local connections (the tests create databases), zbarimg to read
# barcodes back, pdftotext and pdftoppm (poppler-utils) to read the HR documents' PDFs back,
# rsvg-convert to rasterise SVG, Chromium and Node.js for the pages' end-to-end
# tests (Playwright from npm, `e2e/`). Safe to run again: it does only what is missing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
need_apt() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    need_apt postgresql
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
        as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

need_apt zbar-tools poppler-utils librsvg2-bin python3 curl chromium fonts-dejavu-core
command -v npm >/dev/null 2>&1 || need_apt nodejs npm
# Playwright drives Debian's Chromium: it must not fetch a browser of its own.
(cd "$(dirname "$0")/../e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)

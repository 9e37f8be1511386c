#!/usr/bin/env bash
# A flame graph of the whole machine (server, database, load generator, kernel) while
# kopilka-bench runs one scenario: where the CPU of a run goes, for docs/PERFORMANCE.md.
#
#   scripts/flamegraph.sh OUT.svg -- [kopilka-bench arguments]
#   scripts/flamegraph.sh docs/bench/x/sqlite-till.svg -- --store sqlite --only till --seconds 8
#
# It samples every CPU with perf's cpu-clock (virtual machines here have no hardware
# counters) and unwinds with DWARF, since the release build keeps debug info but no frame
# pointers. PostgreSQL's own frames show as addresses: Debian strips its binaries.
# Frames under a pixel wide are left out (--minwidth 1): a few hundred KiB instead of MiBs.
# PROFILE_SECONDS (default 5) is how long it samples; FOLDED=path keeps the folded stacks.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/flamegraph.sh OUT.svg -- [kopilka-bench arguments]}
shift
[ "${1:-}" = "--" ] && shift

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v perf >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
command -v inferno-flamegraph >/dev/null || cargo install --locked inferno
# Kernel frames and other processes' samples need these; they reset at reboot.
as_root sh -c 'echo -1 > /proc/sys/kernel/perf_event_paranoid; echo 0 > /proc/sys/kernel/kptr_restrict'

cargo build --release -q -p kopilka-server -p kopilka-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The bench first seeds and signs members in; perf joins once the load itself starts, which
# the bench announces on stderr, and stops with the run.
target/release/kopilka-bench "$@" --out "$work/bench" 2> >(tee "$work/bench.log" >&2) &
bench=$!
until grep -q "load started" "$work/bench.log" 2>/dev/null; do
    kill -0 $bench 2>/dev/null || { echo "the bench ended before its load started" >&2; exit 1; }
    sleep 0.2
done
perf record -q -e cpu-clock -F 199 -a --call-graph dwarf,16384 -o "$work/perf.data" -- sleep "${PROFILE_SECONDS:-5}"
wait $bench
perf script -F +pid -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf --all --pid > "$work/folded"
mkdir -p "$(dirname "$out")"
inferno-flamegraph --title "$(basename "$out" .svg)" --width 1600 --minwidth 1 < "$work/folded" > "$out"
# The folded stacks too, for reading the figures off by name (FOLDED=path).
[ -n "${FOLDED:-}" ] && cp "$work/folded" "$FOLDED"
echo "wrote $out"

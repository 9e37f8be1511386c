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
# The bench runs from the repository's root: relative paths among its arguments start there.
set -euo pipefail
out=${1:?usage: scripts/flamegraph.sh OUT.svg -- [kopilka-bench arguments]}
shift
[ "${1:-}" = "--" ] && shift
# Paths the caller gave, before the cd makes them relative to the repository.
out=$(realpath -m "$out")
if [ -n "${FOLDED:-}" ]; then FOLDED=$(realpath -m "$FOLDED"); fi
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v perf >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
command -v inferno-flamegraph >/dev/null || cargo install --locked inferno
# Kernel frames and other processes' samples need these; they stay until reboot.
as_root sh -c 'echo -1 > /proc/sys/kernel/perf_event_paranoid; echo 0 > /proc/sys/kernel/kptr_restrict'

cargo build --release -q -p kopilka-server -p kopilka-bench
work=$(mktemp -d)
bench="" profiler=""
# The bench, the server it started and perf must not outlive the script (an error, Ctrl-C):
# a killed bench does not stop its server itself.
trap 'if [ -n "$profiler" ]; then kill "$profiler" 2>/dev/null; fi
      if [ -n "$bench" ]; then pkill -P "$bench" 2>/dev/null; kill "$bench" 2>/dev/null; fi
      wait; rm -rf "$work"' EXIT

# The bench first seeds and signs members in; perf joins once the load itself starts (the
# bench announces each closed loop, each scale step and the expiry job on stderr), and
# samples for PROFILE_SECONDS of it. The bench's results go to a scratch directory.
target/release/kopilka-bench "$@" --out "$work/bench" 2> >(tee "$work/bench.log" >&2) &
bench=$!
until grep -q "load started" "$work/bench.log" 2>/dev/null; do
    kill -0 $bench 2>/dev/null || { echo "the bench ended before its load started" >&2; exit 1; }
    sleep 0.2
done
perf record -q -e cpu-clock -F 199 -a --call-graph dwarf,16384 -o "$work/perf.data" -- sleep "${PROFILE_SECONDS:-5}" &
profiler=$!
wait $profiler
profiler=""
wait $bench || { echo "the bench failed" >&2; exit 1; }
bench=""
perf script -F +pid -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf --all --pid > "$work/folded"
mkdir -p "$(dirname "$out")"
inferno-flamegraph --title "$(basename "$out" .svg)" --width 1600 --minwidth 1 < "$work/folded" > "$out"
# The folded stacks too, for reading the figures off by name (FOLDED=path).
if [ -n "${FOLDED:-}" ]; then cp "$work/folded" "$FOLDED"; fi
echo "wrote $out"

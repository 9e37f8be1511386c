#!/usr/bin/env bash
# The whole test suite, SQLite and PostgreSQL, on a fresh machine of this kind: sets up what
# the tests need first (scripts/test-env.sh). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-env.sh
cargo test --workspace --locked "$@"
# The pages in a real headless Chromium against the binary the tests just built.
cargo build --locked -q --bin kopilka
(cd e2e && node --test)

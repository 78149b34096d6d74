#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECS each, default 20) on its checked-in
# corpus; fails on the first crash, leaving the input in fuzz/artifacts/<target>/.
#
# Builds with the installed (stable) toolchain and plain cargo, passing the coverage
# instrumentation flags cargo-fuzz passes (all stable `-C` flags), so CI needs neither
# nightly nor `cargo install cargo-fuzz`. No sanitizer: safe Rust needs none to find panics,
# and coverage guidance is the same. The profile is optimised but without debug info or
# LTO, which keeps the cold build short; long runs use `cargo fuzz` (see README.md).
# New inputs go to a scratch directory, never into fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")"

secs="${FUZZ_SECS:-20}"
host="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
export CARGO_PROFILE_RELEASE_DEBUG=0
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares"

# `--target` keeps the flags off build scripts and proc macros, as cargo-fuzz does.
cargo build --release --locked --target "$host" --bins

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^lakebase-fuzz$')
for target in $targets; do
  mkdir -p "$scratch/$target" "artifacts/$target"
  echo "-- $target (${secs}s)"
  log="$scratch/$target.log"
  if ! "$CARGO_TARGET_DIR/$host/release/$target" "$scratch/$target" "corpus/$target" \
    -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
    tail -n 80 "$log"
    exit 1
  fi
  grep '^stat::number_of_executed_units' "$log"
done

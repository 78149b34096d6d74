#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECS each, default 20) on its checked-in
# corpus; fails on the first crash, leaving the input in fuzz/artifacts/<target>/.
# Uses the nightly toolchain when rustup has one, else the installed toolchain with
# RUSTC_BOOTSTRAP=1 and no sanitizer (safe Rust needs none to find panics; coverage guidance
# is the same). New inputs go to a scratch directory, never into fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")"

secs="${FUZZ_SECS:-20}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
  flags=()
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  flags=(-s none)
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"${fuzz[@]}" build "${flags[@]}"
for target in $("${fuzz[@]}" list); do
  mkdir -p "$scratch/$target"
  echo "-- $target (${secs}s)"
  log="$scratch/$target.log"
  if ! "${fuzz[@]}" run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 80 "$log"
    exit 1
  fi
  grep '^stat::number_of_executed_units' "$log"
done

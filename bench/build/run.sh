#!/usr/bin/env bash
# Build benchmark (not run in CI): three minimal apps that list every project, built cold in
# one run, side by side:
#   lakebase  this checkout's `lakebase` crate (path dependency), default features
#   floor     bare reqwest (rustls) + tokio + serde_json, untyped
#   peer      the Rust peer community-databricks-sdk 0.1.2 (its defaults + `postgres`)
# then this workspace's release `lakebase` CLI (cold) and `lakebase-emulator` (after the CLI,
# in the same target directory) binaries, with their stripped sizes.
#
# Each app gets its own empty target directory under a scratch folder (deleted at the end
# unless --keep), so every build is really cold; downloads happen before the clock starts
# (`cargo fetch`). The apps use Cargo's default release profile; the workspace binaries use the
# workspace's own (thin LTO, one codegen unit), as they ship.
#
#   bench/build/run.sh [--keep] [--apps lakebase,floor,peer] [--no-workspace] [--jobs N]
#
# Prints a table on stderr, one JSON line per build on stdout, and for the lakebase app the
# ten crates that took longest (from `cargo build --timings`). Wall seconds move with the load
# of the machine; crate counts and binary sizes do not.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
apps="lakebase,floor,peer"
keep=false
workspace=true
jobs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=true ;;
    --apps) apps="$2"; shift ;;
    --no-workspace) workspace=false ;;
    --jobs) jobs=(--jobs "$2"); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/lakebase-build-bench.XXXXXX")
cleanup() { if ! $keep; then rm -rf "$scratch"; else echo "kept $scratch" >&2; fi; }
trap cleanup EXIT
# The apps must not inherit a shared target directory or profile overrides.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TERM_COLOR=never

rows=()

# Seconds, distinct crates compiled, and the sizes of one built binary.
#   measure NAME DIR BINARY -- CARGO-BUILD-ARGS...
measure() {
  local name=$1 dir=$2 binary=$3
  shift 4
  local target=$scratch/target-${TARGET_NAME:-$name}
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && CARGO_TARGET_DIR=$target /usr/bin/time -f '%U %S' -o "$scratch/$name.cpu" \
    cargo build --release --message-format=json-render-diagnostics "${jobs[@]}" "$@" \
    >"$scratch/$name.json" 2>"$scratch/$name.log") || {
    echo "build of $name failed:" >&2; tail -30 "$scratch/$name.log" >&2; exit 1; }
  end=$(date +%s.%N)
  local cpu
  cpu=$(python3 -c "import sys; u, s = open(sys.argv[1]).read().split()[-2:]; print(f'{float(u) + float(s):.1f}')" "$scratch/$name.cpu")
  local crates
  crates=$(python3 -c '
import json, sys
ids = set()
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact":
        ids.add(m["package_id"])
print(len(ids))' "$scratch/$name.json")
  local binpath=$target/release/$binary
  local size stripped
  size=$(stat -c %s "$binpath")
  strip -o "$scratch/$binary.stripped" "$binpath"
  stripped=$(stat -c %s "$scratch/$binary.stripped")
  local secs
  secs=$(python3 -c "print(f'{$end - $start:.1f}')")
  rows+=("$name|$secs|$cpu|$crates|$size|$stripped")
  printf '{"build":"%s","wall_s":%s,"cpu_s":%s,"crates":%s,"binary_bytes":%s,"stripped_bytes":%s}\n' \
    "$name" "$secs" "$cpu" "$crates" "$size" "$stripped"
  if [ -f "$target/cargo-timings/cargo-timing.html" ]; then
    cp "$target/cargo-timings/cargo-timing.html" "$scratch/$name-timing.html"
  fi
}

# The ten slowest units of a `--timings` report, with their share of the summed unit time.
top_units() {
  python3 - "$1" <<'PY'
import json, re, sys
html = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.S).group(1))
total = sum(u["duration"] for u in units)
by_crate = {}
for u in units:
    key = u["name"] + u.get("target", "")
    by_crate[key] = by_crate.get(key, 0) + u["duration"]
print(f"  summed unit time {total:.1f} s over {len(units)} units; slowest crates:", file=sys.stderr)
for name, d in sorted(by_crate.items(), key=lambda kv: -kv[1])[:10]:
    print(f"    {name:<32} {d:6.1f} s  {100 * d / total:4.1f} %", file=sys.stderr)
PY
}

IFS=, read -r -a app_list <<<"$apps"
for app in "${app_list[@]}"; do
  src=$repo/bench/build/apps/$app
  [ -d "$src" ] || { echo "no app $app under bench/build/apps" >&2; exit 2; }
  dir=$scratch/$app
  cp -r "$src" "$dir"
  sed -i "s#@REPO@#$repo#g" "$dir/Cargo.toml"
  (cd "$dir" && cargo generate-lockfile -q && cargo fetch -q)
  echo "building $app ..." >&2
  measure "$app" "$dir" "app-$app" -- --timings
done

# The lakebase app must set up HTTPS with the provider its features picked, without a panic:
# pointed at a closed loopback port it retries connecting (for its retry budget: stopped after
# 10 s, exit 124) or ends with a connection error (exit 1), never with a panic (101).
if [ -x "$scratch/target-lakebase/release/app-lakebase" ]; then
  set +e
  DATABRICKS_HOST=https://127.0.0.1:9 DATABRICKS_TOKEN=unused timeout 10 "$scratch/target-lakebase/release/app-lakebase" \
    >/dev/null 2>"$scratch/lakebase-run.log"
  status=$?
  set -e
  if [ "$status" = 101 ]; then
    echo "the lakebase app panicked:" >&2; cat "$scratch/lakebase-run.log" >&2; exit 1
  fi
  echo "lakebase app against a closed HTTPS port: exit $status, $(head -c 200 "$scratch/lakebase-run.log")" >&2
fi

if $workspace; then
  (cd "$repo" && cargo fetch -q --locked)
  echo "building the workspace's lakebase CLI ..." >&2
  TARGET_NAME=workspace measure cli "$repo" lakebase -- --locked -p lakebase-cli
  # Same target directory: the dependencies both share are not built twice, so this build's
  # seconds are not a cold figure (its binary size is the point).
  echo "building the workspace's lakebase-emulator (dependencies shared with the CLI already built) ..." >&2
  TARGET_NAME=workspace measure emulator "$repo" lakebase-emulator -- --locked -p lakebase-emulator
fi

floor_s=""
floor_cpu=""
for row in "${rows[@]}"; do
  IFS='|' read -r name secs cpu _ _ _ <<<"$row"
  if [ "$name" = floor ]; then floor_s=$secs; floor_cpu=$cpu; fi
done
ratio() { if [ -n "$2" ]; then python3 -c "print(f'{$1 / $2:.2f}')"; else echo -; fi; }
mb() { python3 -c "print(f'{$1 / 1e6:.1f}')"; }
{
  echo
  echo "cold release builds, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  echo "(wall seconds move with the machine's load; CPU seconds, user + system of the whole build, much less)"
  printf '%-10s %8s %8s %8s %8s %7s %10s %12s\n' build "wall s" "x floor" "CPU s" "x floor" crates "binary MB" "stripped MB"
  for row in "${rows[@]}"; do
    IFS='|' read -r name secs cpu crates size stripped <<<"$row"
    printf '%-10s %8s %8s %8s %8s %7s %10s %12s\n' "$name" "$secs" "$(ratio "$secs" "$floor_s")" \
      "$cpu" "$(ratio "$cpu" "$floor_cpu")" "$crates" "$(mb "$size")" "$(mb "$stripped")"
  done
  if [ -f "$scratch/lakebase-timing.html" ]; then
    echo
    echo "lakebase app, where the build time goes:"
    top_units "$scratch/lakebase-timing.html" 2>&1
  fi
} >&2

#!/usr/bin/env bash
# Records cassettes with the official Python SDK (databricks-sdk 0.162.0) against a freshly
# built lakebase-emulator, through the recording proxy of record.py, then replays them with
# the conformance harness.
#
#   tests/recorder/record.sh [OUT_DIR]        # default: a new temporary directory
#
# Environment: LAKEBASE_PY_VENV   reuse this venv (must have databricks-sdk==0.162.0)
#              PYTHON             interpreter for a new venv (default python3)
#              RECORD_ONLY        comma-separated methods to record (setup steps still run)
#              OP_LATENCY_MS      emulator operation latency (default 300)
#              SKIP_REPLAY=1      record only
# Exits with the harness' status (non-zero when a recorded cassette fails to replay).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${1:-}"
if [[ -z "$OUT" ]]; then OUT="$(mktemp -d -t lakebase-cassettes.XXXXXX)"; fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d)"
EMU_PID=""
cleanup() {
  if [[ -n "$EMU_PID" ]]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PYTHON="${PYTHON:-python3}"
if [[ -n "${LAKEBASE_PY_VENV:-}" ]]; then
  VENV="$LAKEBASE_PY_VENV"
  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "== creating venv $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
else
  VENV="$WORK/venv"
  echo "== venv in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("databricks-sdk") != "0.162.0")' 2>/dev/null; then
  echo "== installing databricks-sdk==0.162.0"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check databricks-sdk==0.162.0
fi

echo "== building lakebase-emulator"
(cd "$ROOT" && cargo build --quiet -p lakebase-emulator --bin lakebase-emulator)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/debug/lakebase-emulator"

PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
LATENCY="${OP_LATENCY_MS:-300}"
echo "== starting emulator on port $PORT (op latency ${LATENCY} ms)"
"$BIN" --port "$PORT" --token dapi-conformance-token --op-latency "$LATENCY" >"$WORK/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/.well-known/databricks-config" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

echo "== recording into $OUT"
rm -f "$OUT"/*__rec_*.json
START=$(date +%s)
if ! "$VENV/bin/python" "$HERE/record.py" --upstream "http://127.0.0.1:$PORT" --out "$OUT" \
    --only "${RECORD_ONLY:-}" --op-poll-delay-ms "$((LATENCY + 50))"; then
  echo "== recording FAILED; emulator log tail:"
  tail -n 40 "$WORK/emulator.log"
  exit 1
fi
echo "== recording took $(( $(date +%s) - START )) s"

if [[ "${SKIP_REPLAY:-}" == "1" ]]; then exit 0; fi
echo "== replaying with the conformance harness"
cd "$ROOT"
LAKEBASE_CASSETTES="$OUT" cargo test -p lakebase-conformance --test conformance -- --summary

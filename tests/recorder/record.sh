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
source "$ROOT/emulator/tests/sdk_env.sh"

sdk_venv
LATENCY="${OP_LATENCY_MS:-300}"
# No endpoint reconciliation window: its transient 409s would make recordings depend on timing.
start_emulator --token dapi-conformance-token --op-latency "$LATENCY" --reconcile-ms 0

echo "== recording into $OUT"
rm -f "$OUT"/*__rec_*.json
START=$(date +%s)
if ! "$VENV/bin/python" "$HERE/record.py" --upstream "http://127.0.0.1:$PORT" --out "$OUT" \
    --only "${RECORD_ONLY:-}" --op-poll-delay-ms "$((LATENCY + 50))"; then
  echo "== recording FAILED; emulator log tail:"
  emulator_log_tail
  exit 1
fi
echo "== recording took $(( $(date +%s) - START )) s"

if [[ "${SKIP_REPLAY:-}" == "1" ]]; then exit 0; fi
echo "== replaying with the conformance harness"
cd "$ROOT"
LAKEBASE_CASSETTES="$OUT" cargo test -p lakebase-conformance --test conformance -- --summary

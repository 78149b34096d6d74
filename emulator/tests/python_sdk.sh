#!/usr/bin/env bash
# Runs tests/python/lifecycle.py (official databricks-sdk 0.162.0) against a freshly built
# lakebase-emulator binary on a free loopback port. Exits non-zero on failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d)"
EMU_PID=""
cleanup() {
  if [[ -n "$EMU_PID" ]]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PYTHON="${PYTHON:-python3}"
# LAKEBASE_PY_VENV: a venv to create or reuse (CI shares one with tests/recorder/record.sh).
VENV="${LAKEBASE_PY_VENV:-$WORK/venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
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
TOKEN="dapi-emulator-test"
echo "== starting emulator on port $PORT"
"$BIN" --port "$PORT" --token "$TOKEN" --client-id emu-client --client-secret emu-secret --op-latency 200 >"$WORK/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/.well-known/databricks-config" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

echo "== running lifecycle.py"
if ! "$VENV/bin/python" "$HERE/python/lifecycle.py" "http://127.0.0.1:$PORT" "$TOKEN" emu-client emu-secret; then
  echo "== lifecycle FAILED; emulator log tail:"
  tail -n 40 "$WORK/emulator.log"
  exit 1
fi
echo "== python SDK lifecycle passed"

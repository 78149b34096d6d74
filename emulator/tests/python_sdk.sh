#!/usr/bin/env bash
# Runs tests/python/lifecycle.py (official databricks-sdk 0.162.0) against a freshly built
# lakebase-emulator binary on a free loopback port. Exits non-zero on failure.
# LAKEBASE_PY_VENV: a venv to create or reuse (CI shares one with tests/recorder/record.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/sdk_env.sh"

sdk_venv
TOKEN="dapi-emulator-test"
start_emulator --token "$TOKEN" --client-id emu-client --client-secret emu-secret --op-latency 200

echo "== running lifecycle.py"
if ! "$VENV/bin/python" "$HERE/python/lifecycle.py" "http://127.0.0.1:$PORT" "$TOKEN" emu-client emu-secret; then
  echo "== lifecycle FAILED; emulator log tail:"
  emulator_log_tail
  exit 1
fi
echo "== python SDK lifecycle passed"

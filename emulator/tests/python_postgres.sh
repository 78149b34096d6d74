#!/usr/bin/env bash
# Runs tests/python/postgres_psycopg.py (official databricks-sdk 0.162.0 + psycopg) against
# `lakebase-emulator --postgres` on free loopback ports. Exits non-zero on failure.
# LAKEBASE_PY_VENV: a venv to create or reuse (CI shares one between the Python scripts).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/sdk_env.sh"

sdk_venv
if ! "$VENV/bin/python" -c 'import psycopg' 2>/dev/null; then
  echo "== installing psycopg"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'psycopg[binary]>=3.1'
fi
TOKEN="dapi-emulator-test"
PG_PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
start_emulator --token "$TOKEN" --postgres --pg-port "$PG_PORT" --op-latency 50
CA="$(grep -m1 '^LAKEBASE_EMULATOR_CA=' "$WORK/emulator.log" | cut -d= -f2-)"

echo "== running postgres_psycopg.py"
if ! "$VENV/bin/python" "$HERE/python/postgres_psycopg.py" "http://127.0.0.1:$PORT" "$TOKEN" "$PG_PORT" "$CA"; then
  echo "== FAILED; emulator log tail:"
  emulator_log_tail
  exit 1
fi

#!/usr/bin/env bash
# Runs tests/node/pg_client.js (node-postgres, installed into a temporary directory) against
# `lakebase-emulator --postgres`. Exits non-zero on failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/sdk_env.sh"

echo "== installing node-postgres"
(cd "$WORK" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund pg@8 >/dev/null)
TOKEN="dapi-emulator-test"
USER_EMAIL="node@example.com"
PG_PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
start_emulator --token "$TOKEN" --postgres --pg-port "$PG_PORT" --op-latency 20 --user "$USER_EMAIL"
CA="$(grep -m1 '^LAKEBASE_EMULATOR_CA=' "$WORK/emulator.log" | cut -d= -f2-)"
API="http://127.0.0.1:$PORT/api/2.0/postgres"
ENDPOINT="projects/node/branches/production/endpoints/primary"

curl -fsS -X POST -H "Authorization: Bearer $TOKEN" "$API/projects?project_id=node" -d '{}' >/dev/null
for _ in $(seq 1 600); do
  STATE="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$API/$ENDPOINT" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("current_state", ""))' || true)"
  [[ "$STATE" == "ACTIVE" ]] && break
  sleep 0.1
done
HOST="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$API/$ENDPOINT" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["status"]["hosts"]["host"])')"
CREDENTIAL="$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" "$API/credentials" -d "{\"endpoint\": \"$ENDPOINT\"}" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

echo "== running pg_client.js"
if ! NODE_PATH="$WORK/node_modules" node "$HERE/node/pg_client.js" "$HOST" "$PG_PORT" "$USER_EMAIL" "$CREDENTIAL" "$CA"; then
  echo "== FAILED; emulator log tail:"
  emulator_log_tail
  exit 1
fi

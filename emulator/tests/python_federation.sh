#!/usr/bin/env bash
# The official databricks-sdk 0.162.0 logs in with env-oidc and github-oidc through the
# emulator's OAuth token federation (tests/python/federation.py), with ID tokens from the test
# OIDC issuer (lakebase-test-idp) and no Databricks secret. Exits non-zero on failure.
# LAKEBASE_PY_VENV: a venv to create or reuse (as python_sdk.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/sdk_env.sh"

IDP_PID=""
cleanup() {
  if [[ -n "$IDP_PID" ]]; then kill "$IDP_PID" 2>/dev/null || true; wait "$IDP_PID" 2>/dev/null || true; fi
  sdk_env_cleanup
}
trap cleanup EXIT

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

sdk_venv
echo "== building lakebase-emulator and lakebase-test-idp"
(cd "$SDK_ENV_ROOT" && cargo build --quiet -p lakebase-emulator --bins)
BIN="${CARGO_TARGET_DIR:-$SDK_ENV_ROOT/target}/debug"

SUBJECT="repo:acme/shop:ref:refs/heads/main"
SP="6f1e2d3c-federated-sp"
AUDIENCE="lakebase-ci"
"$BIN/lakebase-test-idp" --subject "$SUBJECT" --url-file "$WORK/idp.url" \
  --token-file "$WORK/oidc.jwt" --audience "$AUDIENCE" >"$WORK/idp.log" 2>&1 &
IDP_PID=$!
for _ in $(seq 1 100); do [[ -s "$WORK/idp.url" ]] && break; sleep 0.1; done
IDP="$(cat "$WORK/idp.url")"
echo "== test issuer at $IDP"

PORT="$(free_port)"
TOKEN_ENDPOINT="http://127.0.0.1:$PORT/oidc/v1/token"
ADMIN="dapi-federation-admin"
echo "== starting emulator on port $PORT, trusting $IDP"
# env-oidc: a token for $AUDIENCE; github-oidc: the SDK asks for the token endpoint.
"$BIN/lakebase-emulator" --port "$PORT" --token "$ADMIN" --op-latency 0 \
  --federation-policy "issuer=$IDP,audience=$AUDIENCE,subject=$SUBJECT,client_id=$SP" \
  --federation-policy "issuer=$IDP,audience=$TOKEN_ENDPOINT,subject=$SUBJECT,client_id=$SP" \
  >"$WORK/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/.well-known/databricks-config" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -X POST "http://127.0.0.1:$PORT/api/2.0/postgres/projects?project_id=federated" \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"spec": {"display_name": "federated"}}' >/dev/null

run() {
  local mode="$1"; shift
  echo "== python SDK, auth_type=$mode"
  if ! env -u DATABRICKS_TOKEN -u DATABRICKS_CLIENT_SECRET -u DATABRICKS_HOST -u DATABRICKS_CONFIG_PROFILE \
      HOME="$WORK" "$@" "$VENV/bin/python" "$HERE/python/federation.py" "http://127.0.0.1:$PORT" "$SP" "$mode"; then
    echo "== $mode FAILED; emulator log tail:"
    emulator_log_tail
    exit 1
  fi
}
run env-oidc DATABRICKS_OIDC_TOKEN="$(cat "$WORK/oidc.jwt")"
run github-oidc ACTIONS_ID_TOKEN_REQUEST_URL="$IDP/github/token?api-version=2.0" \
  ACTIONS_ID_TOKEN_REQUEST_TOKEN=test-idp-request-token

echo "== a token the policies do not accept is refused (invalid_grant)"
STATUS="$(curl -s -o "$WORK/refused.json" -w '%{http_code}' -X POST "$TOKEN_ENDPOINT" \
  --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
  --data-urlencode subject_token_type=urn:ietf:params:oauth:token-type:jwt \
  --data-urlencode subject_token=not.a.jwt)"
[[ "$STATUS" == 400 ]] && grep -q invalid_grant "$WORK/refused.json"
echo "== python SDK federation passed"

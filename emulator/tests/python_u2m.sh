#!/usr/bin/env bash
# The official Python SDK 0.162.0 logs in with auth_type="external-browser" against a
# freshly built lakebase-emulator (our OAuth authorization server checked by a client we did
# not write) and lists projects. The SDK's redirect is http://localhost:8020: that port must
# be free. Its `webbrowser` is driven by $BROWSER: a headless program that follows the
# authorize redirect in the background (webbrowser waits for the program, and the SDK only
# listens on 8020 after the browser was started). HOME is a temporary directory, so the
# SDK's token cache starts empty. LAKEBASE_PY_VENV: as in python_sdk.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/sdk_env.sh"

sdk_venv
USER_NAME="person@example.com"
# PATs are refused (only this unguessable one is accepted): the SDK must use OAuth.
start_emulator --token "dapi-not-used-$RANDOM$RANDOM" --user "$USER_NAME"

mkdir -p "$WORK/home"
cat >"$WORK/browser" <<'SH'
#!/bin/sh
(
  "$LAKEBASE_PY" - "$1" <<'PY'
import sys, time, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _ in range(300):
    try:
        opener.open(sys.argv[1], timeout=30).read()
        break
    except Exception:
        time.sleep(0.1)
PY
) >/dev/null 2>&1 &
exit 0
SH
chmod +x "$WORK/browser"

echo "== running u2m.py (external-browser)"
if ! env -u DATABRICKS_TOKEN -u DATABRICKS_HOST -u DATABRICKS_CONFIG_PROFILE \
  HOME="$WORK/home" BROWSER="$WORK/browser" LAKEBASE_PY="$VENV/bin/python" \
  timeout 120 "$VENV/bin/python" "$HERE/python/u2m.py" "http://127.0.0.1:$PORT" "$USER_NAME"; then
  echo "== u2m FAILED; emulator log tail:"
  emulator_log_tail
  exit 1
fi
curl -fsS "http://127.0.0.1:$PORT/_emulator/oauth"; echo
echo "== python SDK external-browser login passed"

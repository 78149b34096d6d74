# Sourced (not run) by the scripts that drive the official Python SDK against a freshly built
# lakebase-emulator: emulator/tests/python_sdk.sh and tests/recorder/record.sh.
#
# Sets WORK (a temporary directory removed on exit, with the emulator's log) and a trap that
# stops the emulator; provides:
#   sdk_venv              sets VENV: $LAKEBASE_PY_VENV (created if missing) or $WORK/venv,
#                         with databricks-sdk==0.162.0 installed
#   start_emulator ARGS   builds and starts the emulator binary on a free loopback port with
#                         ARGS, sets PORT and EMU_PID, waits until it answers
#   emulator_log_tail     prints the end of the emulator's log (for failure reports)
# Environment: PYTHON (interpreter for a new venv, default python3), CARGO_TARGET_DIR.

SDK_ENV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
EMU_PID=""
sdk_env_cleanup() {
  if [[ -n "$EMU_PID" ]]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap sdk_env_cleanup EXIT

sdk_venv() {
  VENV="${LAKEBASE_PY_VENV:-$WORK/venv}"
  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "== venv in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("databricks-sdk") != "0.162.0")' 2>/dev/null; then
    echo "== installing databricks-sdk==0.162.0"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check databricks-sdk==0.162.0
  fi
}

start_emulator() {
  echo "== building lakebase-emulator"
  (cd "$SDK_ENV_ROOT" && cargo build --quiet -p lakebase-emulator --bin lakebase-emulator)
  local bin="${CARGO_TARGET_DIR:-$SDK_ENV_ROOT/target}/debug/lakebase-emulator"
  PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  echo "== starting emulator on port $PORT ($*)"
  "$bin" --port "$PORT" "$@" >"$WORK/emulator.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/.well-known/databricks-config" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "== the emulator did not answer; its log:"
  emulator_log_tail
  return 1
}

emulator_log_tail() {
  tail -n 40 "$WORK/emulator.log"
}

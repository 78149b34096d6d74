"""Cassette recorder: the official Python SDK (databricks-sdk 0.162.0) drives the
lakebase emulator through a recording reverse proxy; each SDK call of `scenarios.py`
becomes one cassette in the schema of `tests/conformance/README.md`.

Usage: python record.py --upstream http://127.0.0.1:PORT --out DIR [--only m1,m2]
(`record.sh` builds and starts the emulator, runs this, then replays the cassettes).

The proxy (stdlib `http.server`, threaded) forwards every request to the upstream and,
while a scenario is being recorded, keeps each `/api/2.0/postgres/...` exchange.
`GET /.well-known/databricks-config` is answered by the proxy itself, without
`workspace_id`, so the SDK only sends `X-Databricks-Workspace-Id` when the scenario's
`config` sets it, and it is never recorded (as in the shared cassettes).
"""

import datetime
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Request headers a cassette keeps (README "request.headers"), in their recorded spelling.
KEPT_REQUEST_HEADERS = ["Content-Type", "Accept", "Authorization", "X-Databricks-Workspace-Id"]
# Response headers never recorded: length, hop-by-hop and per-response noise.
DROPPED_RESPONSE_HEADERS = {
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "date",
    "server",
    "vary",
}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
API_PREFIX = "/api/2.0/postgres/"


def canonical_header(name):
    """`content-type` -> `Content-Type` (the spelling the shared cassettes use)."""
    return "-".join(p[:1].upper() + p[1:] for p in name.lower().split("-"))


def parse_json(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class Recorder:
    """Shared state of the proxy: the current recording and one-shot fault injection."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.lock = threading.Lock()
        self.exchanges = None  # list while recording
        self.unrecorded = []  # API requests seen while not recording (for diagnostics)
        self.fault_once = None  # emulator fault config applied to one API request only
        self.fault_skip = 0  # API requests to let through before `fault_once` applies
        self.op_poll_delay = 0.0  # seconds to hold operation polls (lets the op finish first)

    def start(self):
        with self.lock:
            self.exchanges = []

    def stop(self):
        with self.lock:
            out, self.exchanges = self.exchanges, None
            return out or []

    def admin(self, method, path, body):
        """Calls an emulator admin route (`/_emulator/...`) directly, never recorded."""
        conn = http.client.HTTPConnection(*self.upstream, timeout=10)
        conn.request(method, path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != 200:
            raise RuntimeError(f"{method} {path} -> {resp.status}")

    def put_faults(self, cfg):
        self.admin("PUT", "/_emulator/faults", cfg)


NO_FAULTS = {"rate_429": 0.0, "rate_503": 0.0, "drop_rate": 0.0, "op_error_rate": 0.0, "retry_after_secs": 1}


def make_handler(rec):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet
            pass

        def _send(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            raw_path, _, raw_query = self.path.partition("?")
            if raw_path == "/.well-known/databricks-config":
                host = f"http://{self.headers.get('Host')}"
                body = json.dumps({"oidc_endpoint": f"{host}/oidc"}).encode()
                self._send(200, [("Content-Type", "application/json")], body)
                return
            is_api = raw_path.startswith(API_PREFIX)
            is_op_poll = is_api and self.command == "GET" and "/operations/" in raw_path
            with rec.lock:
                fault = None
                if is_api and rec.fault_once is not None:
                    if rec.fault_skip > 0:
                        rec.fault_skip -= 1
                    else:
                        fault, rec.fault_once = rec.fault_once, None
                delay = rec.op_poll_delay if is_op_poll else 0.0
            if delay:
                time.sleep(delay)
            if fault is not None:
                rec.put_faults({**NO_FAULTS, **fault})
            fwd_headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection(*rec.upstream, timeout=60)
            try:
                conn.request(self.command, self.path, body=raw_body or None, headers=fwd_headers)
                resp = conn.getresponse()
                resp_body = resp.read()
                resp_headers = resp.getheaders()
                status = resp.status
            finally:
                conn.close()
                if fault is not None:
                    rec.put_faults(NO_FAULTS)
            if is_api:
                sent = {k.lower(): v for k, v in self.headers.items()}
                headers = {h: sent[h.lower()] for h in KEPT_REQUEST_HEADERS if h.lower() in sent}
                kept = {}
                for k, v in resp_headers:
                    if k.lower() not in DROPPED_RESPONSE_HEADERS:
                        kept[canonical_header(k)] = v
                exchange = {
                    "request": {
                        "method": self.command,
                        "path": raw_path,
                        "decoded_path": urllib.parse.unquote(raw_path),
                        "raw_query": raw_query,
                        "query": [list(p) for p in urllib.parse.parse_qsl(raw_query, keep_blank_values=True)],
                        "headers": headers,
                        "body": parse_json(raw_body),
                    },
                    "response": {"status": status, "headers": kept, "body": parse_json(resp_body)},
                }
                with rec.lock:
                    if rec.exchanges is not None:
                        rec.exchanges.append(exchange)
                    else:
                        rec.unrecorded.append(f"{self.command} {self.path}")
            out_headers = [(k, v) for k, v in resp_headers if k.lower() not in HOP_BY_HOP | {"content-length"}]
            self._send(status, out_headers, resp_body)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

    return Handler


def start_proxy(rec, port=0):
    """Starts the proxy on 127.0.0.1 in a daemon thread; returns (server, base_url)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(rec))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# ---------------------------------------------------------------------------------------------
# Scenario runner
# ---------------------------------------------------------------------------------------------

SDK = "databricks-sdk-py 0.162.0"
TOKEN = "dapi-conformance-token"
LRO_TIMEOUT_SECONDS = 60


def _sdk_imports():
    # Imported lazily so `python record.py --help` works without the SDK.
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.common.lro import LroOptions
    from databricks.sdk.common.types.fieldmask import FieldMask
    from databricks.sdk.errors import DatabricksError
    from google.protobuf.duration_pb2 import Duration
    from google.protobuf.timestamp_pb2 import Timestamp

    return WorkspaceClient, LroOptions, FieldMask, DatabricksError, Duration, Timestamp


def _strip_optional(tp):
    import typing

    if typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def to_sdk(value, tp):
    """Wire JSON (the cassette `args` form) -> the SDK argument of type `tp`."""
    import typing

    _, _, FieldMask, _, Duration, Timestamp = _sdk_imports()
    tp = _strip_optional(tp)
    if value is None:
        return None
    if typing.get_origin(tp) in (list, typing.List):
        (item,) = typing.get_args(tp)
        return [to_sdk(v, item) for v in value]
    if tp is FieldMask:
        return FieldMask(field_mask=value.split(","))
    if tp in (Duration, Timestamp):
        v = tp()
        v.FromJsonString(value)
        return v
    if hasattr(tp, "from_dict"):
        return tp.from_dict(value)
    return value


class Scenario:
    """One SDK call.

    `args` is wire JSON (recorded as given: the SDK normalises `"1.5s"` or a `+02:00`
    timestamp itself, and so must a replaying client) or a callable `ctx -> wire JSON` for
    values only known at run time. `expect` is `"ok"` or `"error"`: what the scenario is
    meant to show (a mismatch is reported; the cassette is written anyway). `fault` is an
    emulator fault configuration applied to one request only (index `fault_at`). `slow=True`
    lets `.wait()` see a pending operation (the proxy does not hold its polls back). `save`
    is called as `save(ctx, raw, result)` after a successful call. `before` is called as
    `before(recorder)` ahead of the call, unrecorded (e.g. to add emulator state through an
    admin route)."""

    def __init__(self, method, variant, args=None, *, wait=False, config=None, fault=None, fault_at=0,
                 slow=False, expect="ok", save=None, before=None, notes=None):
        self.method = method
        self.variant = variant
        self.args = args or {}
        self.wait = wait
        self.config = config or {}
        self.fault = fault
        self.fault_at = fault_at
        self.slow = slow
        self.expect = expect
        self.save = save
        self.before = before
        self.notes = notes

    @property
    def id(self):
        return f"{self.method}/rec_{self.variant}"

    @property
    def file_name(self):
        return f"{self.method}__rec_{self.variant}.json"


class Runner:
    def __init__(self, rec, proxy_url, out_dir, op_poll_delay):
        self.rec = rec
        self.proxy_url = proxy_url
        self.out_dir = out_dir
        self.op_poll_delay = op_poll_delay
        self.clients = {}
        self.ctx = {}
        self.surprises = []
        self.written = []

    def client(self, config):
        WorkspaceClient = _sdk_imports()[0]
        key = json.dumps(config, sort_keys=True)
        if key not in self.clients:
            self.clients[key] = WorkspaceClient(host=self.proxy_url, token=TOKEN, **config)
        return self.clients[key]

    def call(self, s, args):
        import typing

        _, LroOptions, _, _, _, _ = _sdk_imports()
        pg = self.client(s.config).postgres
        fn = getattr(pg, s.method)
        hints = typing.get_type_hints(fn)
        kwargs = {k: to_sdk(v, hints[k]) for k, v in args.items()}
        res = fn(**kwargs)
        # `expect.result` as the README defines it: list items, the first Operation, the
        # waited resource (None for deletes/undeletes), or the response message.
        if s.method.startswith("list_"):
            return res, [x.as_dict() for x in res]
        if hasattr(res, "_operation"):
            if s.wait:
                done = res.wait(LroOptions(timeout=datetime.timedelta(seconds=LRO_TIMEOUT_SECONDS)))
                return done, (done.as_dict() if done is not None else None)
            return res._operation, res._operation.as_dict()
        if s.wait:
            raise RuntimeError(f"{s.id}: wait=True for a method without an operation")
        return res, res.as_dict()

    def run(self, s, record=True):
        """Runs `s`; with `record=False` (a scenario left out by `--only`) it only builds
        state: nothing is written and its outcome is not checked."""
        _, _, _, DatabricksError, _, _ = _sdk_imports()
        args = s.args(self.ctx) if callable(s.args) else dict(s.args)
        if s.before is not None:
            s.before(self.rec)
        with self.rec.lock:
            self.rec.op_poll_delay = 0.0 if s.slow else self.op_poll_delay
            self.rec.fault_once = s.fault
            self.rec.fault_skip = s.fault_at
        if record:
            self.rec.start()
        try:
            raw, result = self.call(s, args)
            outcome = {"result": result}
            error = None
        except Exception as e:  # noqa: BLE001 - the exception is the recorded outcome
            raw, error = None, e
            outcome = None
        exchanges = self.rec.stop() if record else []
        with self.rec.lock:
            self.rec.fault_once = None
            self.rec.fault_skip = 0
        if error is not None:
            is_http = isinstance(error, DatabricksError)
            bases = [c.__name__ for c in type(error).__mro__[1:] if issubclass(c, DatabricksError)]
            message = str(error).replace(self.proxy_url, "{host}")
            outcome = {
                "error": {
                    "exception": type(error).__name__,
                    "exception_bases": bases,
                    "error_code": getattr(error, "error_code", None) if is_http else None,
                    "message": message,
                    "status": (exchanges[-1]["response"]["status"] if exchanges else None) if is_http else None,
                }
            }
        got = "error" if error is not None else "ok"
        if record and got != s.expect:
            self.surprises.append(f"{s.id}: expected {s.expect}, got {got}: {outcome}")
        if s.save is not None and error is None:
            s.save(self.ctx, raw, result)
        if not record:
            return
        cassette = {
            "id": s.id,
            "sdk": SDK,
            "method": s.method,
            "args": args,
            "wait": s.wait,
            "config": s.config,
            "exchanges": exchanges,
            "expect": outcome,
        }
        notes = [s.notes] if s.notes else []
        notes.append("Recorded by tests/recorder against lakebase-emulator (not the real service).")
        cassette["notes"] = " ".join(notes)
        path = os.path.join(self.out_dir, s.file_name)
        with open(path, "w") as f:
            json.dump(cassette, f, indent=2)
            f.write("\n")
        self.written.append(s)


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--upstream", required=True, help="emulator base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--out", required=True, help="directory for the cassettes")
    p.add_argument("--only", default="",
                   help="comma-separated method names to record; every other scenario still runs, unrecorded, "
                        "so that the state is the same")
    p.add_argument("--op-poll-delay-ms", type=int, default=350,
                   help="hold operation polls this long (> the emulator --op-latency) unless a scenario is slow")
    a = p.parse_args(argv)
    up = urllib.parse.urlparse(a.upstream)
    rec = Recorder(up.hostname, up.port)
    rec.put_faults(NO_FAULTS)
    server, url = start_proxy(rec)
    os.makedirs(a.out, exist_ok=True)
    import scenarios

    only = {m for m in a.only.split(",") if m}
    runner = Runner(rec, url, a.out, a.op_poll_delay_ms / 1000.0)
    runner.ctx["upstream"] = a.upstream.rstrip("/")
    if not only:
        methods_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "generated", "tests",
                                    "sdk_methods.txt")
        with open(methods_file) as f:
            all_methods = {line.split()[0] for line in f if line.strip() and not line.startswith("#")}
        missing = sorted(all_methods - {s.method for s in scenarios.SCENARIOS})
        if missing:
            print(f"warning: no scenario for {missing}")
    started = time.monotonic()
    for s in scenarios.SCENARIOS:
        runner.run(s, record=not only or s.method in only)
    server.shutdown()
    elapsed = time.monotonic() - started
    per_method = {}
    for s in runner.written:
        per_method[s.method] = per_method.get(s.method, 0) + 1
    print(f"recorded {len(runner.written)} cassettes for {len(per_method)} methods in {elapsed:.1f}s into {a.out}")
    for m in sorted(per_method):
        print(f"  {m:32} {per_method[m]}")
    if rec.unrecorded:
        print(f"{len(rec.unrecorded)} API request(s) outside recordings (scenarios left out by --only)")
    if runner.surprises:
        print(f"{len(runner.surprises)} scenario(s) did not turn out as intended:")
        for x in runner.surprises:
            print("  - " + x[:400])
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())

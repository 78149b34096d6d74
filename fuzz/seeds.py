#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into fuzz/seeds/<target>/ from real traffic: the
official Python SDK's conformance recordings (tests/conformance) plus a few hand-made
protocol messages. Run from the repository root; then let the fuzzers grow the corpora
from them and minimize into fuzz/corpus (see fuzz/README.md)."""
import glob, hashlib, json, os, struct

ROOT = "fuzz/seeds"
PREFIX = "/api/2.0/postgres/"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def walk(v):
    yield v
    if isinstance(v, dict):
        for x in v.values():
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)


files = sorted(glob.glob("tests/conformance/*/*.json"))
for f in files:
    case = json.load(open(f))
    requests = []
    for ex in case.get("exchanges", []):
        req, resp = ex["request"], ex["response"]
        path = req["path"]
        rest = path[len(PREFIX):] if path.startswith(PREFIX) else path
        put("names", rest)
        for s in strings(req.get("body")):
            if "/" in s:
                put("names", s)
        for s in strings(resp.get("body")):
            if s.startswith(("projects/", "catalogs/", "synced_tables/")):
                put("names", s)
            if s.endswith("s") and s[:-1].replace(".", "").isdigit():
                put("wire_values", json.dumps(s))
        for k, v in req.get("query", []):
            if k == "update_mask":
                put("field_mask", v)
        body = resp.get("body")
        raw = b"" if body is None else json.dumps(body).encode()
        if resp["status"] >= 400:
            retry = {k.lower(): v for k, v in resp.get("headers", {}).items()}.get("retry-after", "")
            put("error_body", struct.pack(">H", resp["status"]) + retry.encode() + b"\n" + raw)
        elif body is not None:
            put("wire_values", raw)
        if req.get("body"):
            put("field_mask", json.dumps(req["body"]))
        query = ("?" + req["raw_query"]) if req.get("raw_query") else ""
        line = f"{req['method']} {path}{query}\n".encode()
        req_body = b"" if req.get("body") is None else json.dumps(req["body"]).encode()
        if (line, req_body) not in requests:
            requests.append((line, req_body))
    if requests:
        put("emulator_api", b"\0".join(l + b for l, b in requests[:8]))

# Error bodies the parser knows besides the service's JSON: text, HTML, SCIM, HTTP dates.
for status, retry, body in [
    (503, "Sun, 06 Nov 1994 08:49:37 GMT", b""),
    (429, "120", b'{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"1.5s"}]}'),
    (502, "", b"<html><head><title>502 Bad Gateway</title></head><body><pre>upstream</pre></body></html>"),
    (400, "", b"INVALID_PARAMETER_VALUE: bad id\r\nsecond line"),
    (401, "", b'{"detail":"null","scimType":"invalidValue","status":"401","schemas":[]}'),
    (500, "x", b"\xff\xfe not utf-8"),
]:
    put("error_body", struct.pack(">H", status) + retry.encode() + b"\n" + body)

for v in ['"300s"', '"1.500s"', '"-0.000001s"', '"0s"', "123", '"9223372036854775807"', '"-12"', "1.0e3"]:
    put("wire_values", v)
for v in ["spec.display_name", "spec.display_name,spec.pg_version", "*", "spec.settings.pg_settings"]:
    put("field_mask", v)
put("emulator_api", b"GET /api/2.0/postgres/projects?page_size=1\n\0"
    b"POST /api/2.0/postgres/projects/seed/branches?branch_id=dev\n{\"spec\":{\"no_expiry\":true}}\0"
    b"GET /api/2.0/postgres/projects/seed/branches?page_size=1\n\0"
    b"GET /api/2.0/postgres/projects?page_token=AAAAAAAAAAEAAAAAAAAAAA%3D%3D\n")


def startup(params, version=196608):
    body = struct.pack(">I", version) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params) + b"\0"
    return struct.pack(">I", len(body) + 4) + body


def password(pw):
    return b"p" + struct.pack(">I", len(pw) + 5) + pw + b"\0"


SSL = struct.pack(">II", 8, 80877103)
GSS = struct.pack(">II", 8, 80877104)
put("pg_frontend", startup([("user", "alice@example.com"), ("database", "databricks_postgres"),
                            ("application_name", "psql"), ("client_encoding", "UTF8")]) + password(b"tok"))
put("pg_frontend", SSL)
put("pg_frontend", GSS)
put("pg_frontend", struct.pack(">IIii", 16, 80877102, 4242, -7))
put("pg_frontend", startup([("user", "u"), ("options", "-c statement_timeout=0")], 196610) + password(b""))
put("pg_frontend", startup([("database", "d")]))
put("pg_frontend", b"R\0\0\0\x08\0\0\0\0S\0\0\0\x16server_version\x0015\0K\0\0\0\x0c\0\0\x10\x92\x12\x34\x56\x78Z\0\0\0\x05I")

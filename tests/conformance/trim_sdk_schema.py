#!/usr/bin/env python3
"""Writes sdk-0.162.0-schema.json: the parts of the SDK facts file the conformance harness uses.

Usage: python3 trim_sdk_schema.py /work/shared/reference/postgres-api.json
"""
import json
import os
import sys

d = json.load(open(sys.argv[1]))
out = {
    "_comment": "Trimmed from the databricks-sdk-py 0.162.0 facts (postgres-api.json) by trim_sdk_schema.py: "
    "the messages, fields and enum values the SDK knows, and the parameters of each PostgresAPI method. "
    "Used by the conformance harness to apply the SDK's result rendering to our results.",
    "sdk": d["sdk"]["version"],
    "messages": {},
    "enums": d["enums"],
    "methods": {},
}
for name, m in d["messages"].items():
    fields = {}
    for f in m["fields"]:
        e = {"type": f["type"], "repeated": f["repeated"]}
        for k in ("message", "enum"):
            if k in f:
                e[k] = f[k]
        fields[f["json_name"]] = e
    out["messages"][name] = fields
wrappers = d["lro"]["wrappers"]
for m in d["methods"]:
    returns = dict(m["returns"])
    if returns.get("kind") == "lro":
        returns["wait_result"] = wrappers[returns["wrapper"]].get("wait_result")
    out["methods"][m["name"]] = {
        "params": [
            {k: p[k] for k in ("name", "type", "in", "required", "repeated", "message") if k in p}
            for p in m["params"]
        ],
        "returns": returns,
    }
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk-0.162.0-schema.json")
with open(dst, "w") as fh:
    json.dump(out, fh, indent=1, sort_keys=True)
    fh.write("\n")

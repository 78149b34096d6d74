"""The chaos lifecycle (bench/chaos/lifecycle.json) with the official Python SDK, run by
`lakebase-bench chaos --python <interpreter>` against an emulator injecting faults. Every
call is made as a user would make it (creates, updates, deletes and undeletes waited for);
a call that raises is counted and the walk goes on. Prints {"failed": ["op: error", ...]}.

Usage: python chaos.py <host> <lifecycle.json> <http timeout seconds>
"""

import json
import sys
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.common.lro import LroOptions
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.service.postgres import Branch, Database, Endpoint, Project, Role

TYPES = {"project": Project, "branch": Branch, "endpoint": Endpoint, "role": Role, "database": Database}
WAIT = LroOptions(timeout=timedelta(seconds=120))


def call(pg, step):
    op = step["op"]
    verb, _, kind = op.partition("_")
    kwargs = {}
    for key in ("name", "parent", "endpoint"):
        if key in step:
            kwargs[key] = step[key]
    if "body" in step:
        kwargs[kind] = TYPES[kind].from_dict(step["body"])
    if step.get("id"):
        kwargs[f"{kind}_id"] = step["id"]
    if "mask" in step:
        kwargs["update_mask"] = FieldMask(field_mask=step["mask"])
    for flag in ("purge", "show_deleted", "replace_existing"):
        if step.get(flag):
            kwargs[flag] = True
    result = getattr(pg, op)(**kwargs)
    if verb == "list":
        list(result)
    elif hasattr(result, "wait"):
        result.wait(WAIT)


def main(host, script, timeout):
    w = WorkspaceClient(config=Config(host=host, token="chaos-token", http_timeout_seconds=timeout))
    failed = []
    with open(script) as f:
        steps = json.load(f)["steps"]
    for step in steps:
        try:
            call(w.postgres, step)
        except Exception as e:  # every failure a user would see
            failed.append(f"{step['op']}: {type(e).__name__}: {e}")
    print(json.dumps({"failed": failed}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

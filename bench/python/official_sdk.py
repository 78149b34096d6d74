"""The list and get scenarios of lakebase-bench, run with the official Python SDK, so both
clients can be measured in one session on the same server and machine.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install databricks-sdk==0.162.0
    /tmp/venv/bin/python bench/python/official_sdk.py http://127.0.0.1:8765
"""

import json
import statistics
import sys
import time
import urllib.request

from databricks.sdk import WorkspaceClient


def main(host):
    config = json.dumps({"projects": 10000, "fault_503": 0.0, "fault_429": 0.0}).encode()
    urllib.request.urlopen(urllib.request.Request(host + "/__config", data=config, method="POST"))
    w = WorkspaceClient(host=host, token="bench-token")

    walls = []
    for _ in range(5):
        started = time.perf_counter()
        items = sum(1 for _ in w.postgres.list_projects(page_size=100))
        walls.append(time.perf_counter() - started)
    wall = statistics.median(walls)
    print(json.dumps({"scenario": "list", "client": "databricks-sdk-py", "items": items,
                      "wall_s": round(wall, 4), "items_per_s": round(items / wall, 1)}))

    w.postgres.get_project(name="projects/p-00001")
    samples = []
    for _ in range(500):
        started = time.perf_counter()
        w.postgres.get_project(name="projects/p-00001")
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    print(json.dumps({"scenario": "get", "client": "databricks-sdk-py", "count": 500,
                      "p50_ms": round(samples[249], 4), "p99_ms": round(samples[494], 4)}))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765")

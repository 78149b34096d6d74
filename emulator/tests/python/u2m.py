"""The official Python SDK (databricks-sdk 0.162.0) logs a person in with
auth_type="external-browser" against the emulator's authorization server, its browser
driven by $BROWSER, then lists projects; a second client reuses the SDK's token cache.

Usage: u2m.py HOST EXPECTED_USER
"""

import sys

from databricks.sdk import WorkspaceClient

host, expected_user = sys.argv[1], sys.argv[2]

w = WorkspaceClient(host=host, auth_type="external-browser")
me = w.current_user.me()
assert me.user_name == expected_user, me
projects = list(w.postgres.list_projects())
print(f"logged in as {me.user_name}; {len(projects)} project(s)")

# A second client: the SDK's own token cache, no browser.
again = WorkspaceClient(host=host, auth_type="external-browser")
assert again.current_user.me().user_name == expected_user
print("cached login reused")

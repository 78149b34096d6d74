"""The official Databricks SDK logs in through the emulator's OAuth token federation.

Usage: python federation.py <base_url> <client_id> <auth_type>
auth_type is env-oidc (DATABRICKS_OIDC_TOKEN holds a JWT of the test issuer) or github-oidc
(ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN point at the test issuer). No Databricks secret is set.
Exits non-zero on any failure.
"""

import os
import sys

from databricks.sdk import WorkspaceClient


def main():
    host, client_id, auth_type = sys.argv[1:4]
    for secret in ("DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET"):
        assert secret not in os.environ, f"{secret} must not be set"
    w = WorkspaceClient(host=host, client_id=client_id, auth_type=auth_type)
    assert w.config.auth_type == auth_type, w.config.auth_type
    names = [p.name for p in w.postgres.list_projects()]
    assert "projects/federated" in names, names
    me = w.current_user.me()
    assert me.user_name == client_id, me.user_name
    print(f"{auth_type}: listed {len(names)} project(s) as {me.user_name}")


if __name__ == "__main__":
    main()

"""The official Python SDK plus psycopg against `lakebase-emulator --postgres`: create a
project, log in with a generated database credential, branch, and read the parent's rows
on the branch; a password role and a database it owns.

Usage: python postgres_psycopg.py <base_url> <token> <pg_port> <ca_file>
Exits non-zero on any failure.
"""

import sys
from datetime import timedelta

import psycopg
from databricks.sdk import WorkspaceClient
from databricks.sdk.common.lro import LroOptions
from databricks.sdk.service.postgres import (
    Branch,
    BranchSpec,
    Database,
    DatabaseDatabaseSpec,
    Project,
    Role,
    RoleAuthMethod,
    RoleRoleSpec,
)
from google.protobuf.duration_pb2 import Duration

TIMEOUT = LroOptions(timeout=timedelta(seconds=120))


def step(msg):
    print(f"-- {msg}", flush=True)


def connect(host, port, user, password, dbname, **tls):
    return psycopg.connect(host=host, port=port, user=user, password=password, dbname=dbname, **tls)


def main(base_url, token, port, ca_file):
    w = WorkspaceClient(host=base_url, token=token)
    pg = w.postgres
    me = w.current_user.me().user_name
    assert me, "SCIM Me answers a user name"

    step("create project and connect with a database credential (sslmode=require)")
    pg.create_project(project=Project(), project_id="py-pg").wait(TIMEOUT)
    prod = "projects/py-pg/branches/production"
    prod_ep = list(pg.list_endpoints(parent=prod))[0]
    cred = pg.generate_database_credential(endpoint=prod_ep.name)
    with connect(prod_ep.status.hosts.host, port, me, cred.token, "databricks_postgres", sslmode="require") as conn:
        assert conn.info.pgconn.ssl_in_use
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes VALUES (1, 'from production'), (2, 'also production')")

    step("verify-full against the emulator's CA")
    with connect(prod_ep.status.hosts.host, port, me, cred.token, "databricks_postgres",
                 sslmode="verify-full", sslrootcert=ca_file) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == me

    step("branch dev and find its implicit primary endpoint")
    pg.create_branch(parent="projects/py-pg", branch=Branch(spec=BranchSpec(no_expiry=True)),
                     branch_id="dev").wait(TIMEOUT)
    dev_eps = list(pg.list_endpoints(parent="projects/py-pg/branches/dev"))
    assert len(dev_eps) == 1, dev_eps
    dev_host = dev_eps[0].status.hosts.host
    assert dev_host != prod_ep.status.hosts.host

    step("the branch holds the parent's rows, and writes stay on their side")
    cred = pg.generate_database_credential(endpoint=dev_eps[0].name, ttl=Duration(seconds=900))
    with connect(dev_host, port, me, cred.token, "databricks_postgres", sslmode="prefer") as conn:
        rows = conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
        assert rows == [(1, "from production"), (2, "also production")], rows
        conn.execute("INSERT INTO notes VALUES (3, 'dev only')")
    with connect(prod_ep.status.hosts.host, port, me, cred.token, "databricks_postgres", sslmode="require") as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 2

    step("a password role and a database it owns")
    role = pg.create_role(parent=prod, role=Role(spec=RoleRoleSpec(
        postgres_role="app_user", auth_method=RoleAuthMethod.PG_PASSWORD_SCRAM_SHA_256)), role_id="app-user").wait(TIMEOUT)
    password = pg.reveal_role_password(name=role.name).password
    pg.create_database(parent=prod, database=Database(spec=DatabaseDatabaseSpec(
        role=role.name, postgres_database="app_db")), database_id="app-db").wait(TIMEOUT)
    with connect(prod_ep.status.hosts.host, port, "app_user", password, "app_db", sslmode="require") as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").fetchone()[0]
        assert owner == "app_user", owner

    step("a wrong password is refused with 28P01")
    try:
        connect(prod_ep.status.hosts.host, port, me, "wrong", "databricks_postgres", sslmode="require")
        raise AssertionError("expected a login failure")
    except psycopg.OperationalError as e:
        assert "password authentication failed" in str(e), e
    print("python SDK + psycopg against --postgres: passed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])

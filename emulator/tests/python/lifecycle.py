"""End-to-end lifecycle against the lakebase emulator with the official Databricks SDK.

Usage: python lifecycle.py <base_url> <token> [<client_id> <client_secret>]
Exits non-zero (AssertionError / SDK exception) on any failure.
"""

import sys
import time
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from google.protobuf.duration_pb2 import Duration
from databricks.sdk.common.lro import LroOptions
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.errors import AlreadyExists, BadRequest, InvalidParameterValue, NotFound, ResourceConflict
from databricks.sdk.service.postgres import (
    Branch,
    BranchSpec,
    Database,
    DatabaseDatabaseSpec,
    Endpoint,
    EndpointSpec,
    EndpointType,
    InitialBranchSpec,
    Project,
    ProjectDefaultEndpointSettings,
    ProjectSpec,
    Role,
    RoleRoleSpec,
)

TIMEOUT = LroOptions(timeout=timedelta(seconds=60))


def step(msg):
    print(f"-- {msg}", flush=True)


def settled(pg, name):
    """Reads an endpoint until its pending_state clears: an endpoint operation finishes
    before the endpoint has reconciled."""
    for _ in range(600):
        endpoint = pg.get_endpoint(name=name)
        if endpoint.status.pending_state is None:
            return endpoint
        time.sleep(0.05)
    raise AssertionError(f"{name} never settled")


def main(host, token):
    w = WorkspaceClient(host=host, token=token)
    pg = w.postgres

    step("create project 'py-app' and wait")
    project = pg.create_project(
        project=Project(
            spec=ProjectSpec(
                display_name="Python app",
                pg_version=17,
                default_endpoint_settings=ProjectDefaultEndpointSettings(
                    autoscaling_limit_min_cu=0.5,
                    autoscaling_limit_max_cu=2.0,
                    suspend_timeout_duration=Duration(seconds=300),
                ),
            ),
            initial_branch_spec=InitialBranchSpec(is_protected=True),
        ),
        project_id="py-app",
    ).wait(TIMEOUT)
    assert project.name == "projects/py-app", project
    assert project.status.display_name == "Python app"
    assert project.status.default_branch == "projects/py-app/branches/production"

    step("duplicate create -> AlreadyExists; missing project_id -> the service's words")
    try:
        pg.create_project(project=Project(), project_id="")
        raise AssertionError("expected InvalidParameterValue")
    except InvalidParameterValue as e:
        assert str(e) == "Field 'project_id' is required, expected non-default value (not \"\")!", e
    try:
        pg.create_project(project=Project(), project_id="py-app")
        raise AssertionError("expected AlreadyExists")
    except AlreadyExists:
        pass

    step("create 4 more projects, list with page_size=2")
    for i in range(4):
        pg.create_project(project=Project(), project_id=f"py-extra-{i}").wait(TIMEOUT)
    names = [p.name for p in pg.list_projects(page_size=2)]
    assert len(names) == 5, names
    assert names[0] == "projects/py-app", names

    step("default branch and endpoint exist")
    prod = pg.get_branch(name="projects/py-app/branches/production")
    assert prod.status.default is True and prod.status.is_protected is True, prod
    eps = list(pg.list_endpoints(parent=prod.name))
    assert len(eps) == 1 and eps[0].status.endpoint_type == EndpointType.ENDPOINT_TYPE_READ_WRITE, eps
    assert eps[0].status.hosts.host.endswith(".cloud.databricks.com"), eps[0].status.hosts

    step("create branch 'dev' and wait")
    dev = pg.create_branch(
        parent="projects/py-app",
        branch=Branch(spec=BranchSpec(ttl=Duration(seconds=7 * 86400))),
        branch_id="dev",
    ).wait(TIMEOUT)
    assert dev.status.current_state.value == "READY", dev.status
    assert dev.status.source_branch == prod.name
    assert "/" in dev.status.source_branch_lsn

    step("new branch dev has its implicit 'primary' read-write endpoint, found without creating one")
    eps = list(pg.list_endpoints(parent=dev.name))
    assert [e.name for e in eps] == [f"{dev.name}/endpoints/primary"], eps
    primary = pg.get_endpoint(name=f"{dev.name}/endpoints/primary")
    assert primary.spec is None, primary.spec
    assert primary.status.endpoint_type == EndpointType.ENDPOINT_TYPE_READ_WRITE, primary.status
    assert primary.status.autoscaling_limit_max_cu == 2.0, primary.status
    assert primary.status.suspend_timeout_duration == Duration(seconds=300), primary.status
    assert primary.status.hosts.host.endswith(".cloud.databricks.com"), primary.status.hosts

    step("creating 'primary' again -> AlreadyExists; replace_existing=True takes it over")
    rw = EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE,
                      autoscaling_limit_min_cu=0.5, autoscaling_limit_max_cu=1.0)
    try:
        pg.create_endpoint(parent=dev.name, endpoint=Endpoint(spec=rw), endpoint_id="primary")
        raise AssertionError("expected AlreadyExists")
    except AlreadyExists:
        pass
    ep = pg.create_endpoint(
        parent=dev.name, endpoint=Endpoint(spec=rw), endpoint_id="primary", replace_existing=True
    ).wait(TIMEOUT)
    assert ep.uid == primary.uid and ep.status.autoscaling_limit_max_cu == 1.0, ep.status
    ep = settled(pg, ep.name)
    assert ep.status.current_state.value == "ACTIVE", ep.status

    step("second read-write endpoint -> BadRequest 'read_write endpoint already exists'")
    try:
        pg.create_endpoint(
            parent=dev.name,
            endpoint=Endpoint(spec=EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE)),
            endpoint_id="dev-rw2",
        )
        raise AssertionError("expected BadRequest")
    except BadRequest as e:
        assert "read_write endpoint already exists" in str(e), e

    step("deleting the read-write endpoint -> BadRequest, managed by its branch")
    try:
        pg.delete_endpoint(name=ep.name)
        raise AssertionError("expected BadRequest")
    except BadRequest as e:
        infos = e.get_error_info()
        assert any(i.reason == "RESOURCE_CONFLICT" and i.metadata.get("declarative_context") == "MANAGED_BY_PARENT"
                   for i in infos), infos

    step("read-only endpoint: host == read_only_host; reconciling -> ResourceConflict until pending_state clears")
    ro_op = pg.create_endpoint(
        parent=dev.name,
        endpoint=Endpoint(spec=EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY)),
        endpoint_id="dev-ro",
    )
    try:
        pg.delete_endpoint(name=f"{dev.name}/endpoints/dev-ro")
        raise AssertionError("expected ResourceConflict")
    except ResourceConflict as e:
        assert "reconciliation" in str(e), e
    ro = ro_op.wait(TIMEOUT)
    assert ro.status.hosts.host == ro.status.hosts.read_only_host, ro.status.hosts
    settled(pg, ro.name)
    pg.delete_endpoint(name=ro.name).wait(TIMEOUT)

    step("create role and database and wait")
    role = pg.create_role(
        parent=dev.name, role=Role(spec=RoleRoleSpec(postgres_role="app_owner")), role_id="app-owner"
    ).wait(TIMEOUT)
    assert role.status.postgres_role == "app_owner"
    try:
        pg.create_role(parent=dev.name, role=Role(spec=RoleRoleSpec(postgres_role="app_owner")), role_id="app-owner")
        raise AssertionError("expected BadRequest")
    except BadRequest as e:
        assert str(e) == "role with that name already exists", e
    pw = pg.reveal_role_password(name=role.name)
    assert pw.password, pw
    db = pg.create_database(
        parent=dev.name, database=Database(spec=DatabaseDatabaseSpec(role=role.name, postgres_database="app_db"))
    ).wait(TIMEOUT)
    assert db.status.postgres_database == "app_db" and db.status.role == role.name, db
    assert [d.name for d in pg.list_databases(parent=dev.name)] == [db.name]

    step("generate database credential")
    cred = pg.generate_database_credential(endpoint=ep.name, ttl=Duration(seconds=900))
    assert cred.token.count(".") == 2 and cred.expire_time is not None, cred

    step("update project with a field mask")
    updated = pg.update_project(
        name="projects/py-app",
        project=Project(name="projects/py-app", spec=ProjectSpec(display_name="Python app v2")),
        update_mask=FieldMask(field_mask=["spec.display_name"]),
    ).wait(TIMEOUT)
    assert updated.status.display_name == "Python app v2", updated.status
    read = pg.get_project(name="projects/py-app")
    assert read.spec is None and read.status.display_name == "Python app v2", read

    step("update endpoint suspension oneof")
    ep2 = pg.update_endpoint(
        name=ep.name,
        endpoint=Endpoint(name=ep.name, spec=EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE,
                                                          no_suspension=True)),
        update_mask=FieldMask(field_mask=["spec.suspension"]),
    ).wait(TIMEOUT)
    assert ep2.spec is None and ep2.status.suspend_timeout_duration is None, ep2
    settled(pg, ep2.name)

    step("deleting the root branch -> BadRequest, managed by its project")
    try:
        pg.delete_branch(name=prod.name)
        raise AssertionError("expected BadRequest")
    except BadRequest as e:
        assert "Root branches cannot be deleted" in str(e), e

    step("soft-delete branch dev, list with show_deleted, undelete")
    pg.delete_branch(name=dev.name).wait(TIMEOUT)
    live = [b.name for b in pg.list_branches(parent="projects/py-app")]
    assert dev.name not in live, live
    every = list(pg.list_branches(parent="projects/py-app", show_deleted=True))
    deleted = [b for b in every if b.name == dev.name]
    assert deleted and deleted[0].status.delete_time is not None, every
    pg.undelete_branch(name=dev.name).wait(TIMEOUT)
    assert dev.name in [b.name for b in pg.list_branches(parent="projects/py-app")]

    step("purge branch dev")
    pg.delete_branch(name=dev.name, purge=True).wait(TIMEOUT)
    try:
        pg.get_branch(name=dev.name)
        raise AssertionError("expected NotFound")
    except NotFound:
        pass

    step("delete projects")
    for i in range(4):
        pg.delete_project(name=f"projects/py-extra-{i}", purge=True).wait(TIMEOUT)
    pg.delete_project(name="projects/py-app").wait(TIMEOUT)
    assert list(pg.list_projects()) == []
    assert len(list(pg.list_projects(show_deleted=True))) == 1
    print("OK: python lifecycle passed", flush=True)


def m2m(host, client_id, client_secret):
    step("OAuth M2M client: host metadata -> discovery -> token -> API call")
    w = WorkspaceClient(host=host, client_id=client_id, client_secret=client_secret)
    assert w.config.auth_type == "oauth-m2m", w.config.auth_type
    projects = list(w.postgres.list_projects(show_deleted=True))
    assert len(projects) == 1, projects
    print("OK: OAuth M2M passed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    if len(sys.argv) > 4:
        m2m(sys.argv[1], sys.argv[3], sys.argv[4])

"""The recorder's scenarios: every `w.postgres` method of SDK 0.162.0, with variants, in a
fixed order that builds up state on one emulator (project -> branches -> endpoints ->
roles -> databases -> data API -> CDF -> snapshots -> catalogs -> synced tables ->
teardown). Arguments are wire JSON (cassette `args` form); callables get the run context
for values only known at run time (timestamps, page tokens, operation names).
"""

import datetime
import json
import urllib.request

from record import Scenario as S

P = "projects/rec-app"
PROD = f"{P}/branches/production"
DEV = f"{P}/branches/dev"
# The read-write endpoint every branch gets implicitly (taken over by create_endpoint/wait).
DEV_RW = f"{DEV}/endpoints/primary"
APP_OWNER = f"{DEV}/roles/app-owner"
ALICE = f"{DEV}/roles/alice"
ANALYSTS = f"{DEV}/roles/analysts"
APP_DB = f"{DEV}/databases/app-db"
REPORTS_DB = f"{DEV}/databases/reports"
WS = {"workspace_id": "1234567890123456"}
RW = "ENDPOINT_TYPE_READ_WRITE"
RO = "ENDPOINT_TYPE_READ_ONLY"


def ts(delta):
    """RFC 3339 UTC timestamp `delta` from now, whole seconds (as the SDK renders them)."""
    t = datetime.datetime.now(datetime.timezone.utc) + delta
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_offset(delta, offset_hours, millis):
    """The same instant as `ts(delta)` written with a UTC offset and milliseconds
    (`2030-01-01T02:00:00.250+02:00`); the SDK normalises it to UTC `Z`."""
    tz = datetime.timezone(datetime.timedelta(hours=offset_hours))
    t = (datetime.datetime.now(datetime.timezone.utc) + delta).astimezone(tz).replace(microsecond=millis * 1000)
    return t.isoformat(timespec="milliseconds")


def raw_get(ctx, name):
    """A resource as the emulator returns it (fetched directly, not recorded)."""
    req = urllib.request.Request(
        f"{ctx['upstream']}/api/2.0/postgres/{name}",
        headers={"Authorization": "Bearer dapi-conformance-token"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def edited(resource, path, value):
    """`resource` with `value` set at the dotted `path`."""
    node = resource
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return resource


def page_token(ctx, path):
    """A real page token from the emulator (fetched directly, not recorded)."""
    req = urllib.request.Request(
        f"{ctx['upstream']}/api/2.0/postgres/{path}",
        headers={"Authorization": "Bearer dapi-conformance-token"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["next_page_token"]


def save_name(key):
    """Keeps `result["name"]` (an operation's or a resource's) as `ctx[key]`."""

    def save(ctx, raw, result):
        ctx[key] = result["name"]

    return save


H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


def cdf_status(config, table):
    """A `before` hook: the emulator adds a streaming CDF status for `table` (the service creates
    them as tables stream; the emulator has no tables, so an admin route does)."""
    return lambda rec: rec.admin("POST", "/_emulator/cdf-statuses", {"cdf_config": config, "postgres_table": table})


SCENARIOS = [
    # ------------------------------------------------------------------ projects
    S("create_project", "wait_full", {
        "project_id": "rec-app",
        "project": {
            "spec": {
                "display_name": "Recorder app",
                "pg_version": 17,
                "history_retention_duration": "604800s",
                "enable_pg_native_login": True,
                "custom_tags": [{"key": "team", "value": "data"}, {"key": "env", "value": "dev"}],
                "default_endpoint_settings": {
                    "autoscaling_limit_min_cu": 0.5,
                    "autoscaling_limit_max_cu": 2,
                    "suspend_timeout_duration": "300s",
                    "pg_settings": {"work_mem": "64MB"},
                },
            },
            "initial_branch_spec": {"is_protected": False},
        },
    }, wait=True),
    S("create_project", "call_minimal", {"project_id": "rec-min", "project": {}}, save=save_name("op_min")),
    S("get_operation", "done", lambda c: {"name": c["op_min"]}),
    S("create_project", "initial_endpoint_spec", {
        "project_id": "rec-ies",
        "project": {
            "spec": {"display_name": "Initial endpoint"},
            "initial_branch_spec": {"is_protected": True},
            "initial_endpoint_spec": {"autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 4, "no_suspension": True},
        },
    }, wait=True),
    S("create_project", "slow_wait", {"project_id": "rec-slow", "project": {"spec": {"pg_version": 16}}},
      wait=True, slow=True, notes="The first operation poll sees done=false; the SDK sleeps and polls again."),
    S("create_project", "pending_call", {"project_id": "rec-pending", "project": {"spec": {"display_name": "Pending"}}},
      save=save_name("op_pending")),
    S("get_operation", "pending", lambda c: {"name": c["op_pending"]}, slow=True,
      notes="Polled right after the create, before the operation latency elapsed."),
    S("create_project", "already_exists", {"project_id": "rec-app", "project": {}}, expect="error"),
    S("create_project", "invalid_id", {"project_id": "Rec_App", "project": {}}, expect="error"),
    S("create_project", "op_failed_wait", {"project_id": "rec-fail", "project": {}}, wait=True,
      fault={"op_error_rate": 1.0}, expect="error", notes="The operation finishes with an error."),
    S("create_project", "op_failed_call", {"project_id": "rec-fail", "project": {}},
      fault={"op_error_rate": 1.0}, save=save_name("op_failed")),
    S("get_operation", "failed", lambda c: {"name": c["op_failed"]}),
    S("get_operation", "not_found", {"name": f"{P}/operations/bm8rc3VjaC9vcA=="}, expect="error"),
    S("create_project", "retry_429", {"project_id": "rec-retry", "project": {}},
      fault={"rate_429": 1.0, "retry_after_secs": 1}, notes="First answer 429 + Retry-After: 1, then retried."),
    S("get_project", "basic", {"name": P}),
    S("get_project", "not_found", {"name": "projects/no-such-project"}, expect="error"),
    S("get_project", "workspace_id", {"name": P}, config=WS),
    S("get_project", "retry_503", {"name": "projects/rec-ies"}, fault={"rate_503": 1.0, "retry_after_secs": 1}),
    S("list_projects", "default", {}),
    S("list_projects", "page_size_2", {"page_size": 2}),
    S("list_projects", "page_token", lambda c: {"page_size": 2, "page_token": page_token(c, "projects?page_size=2")}),
    S("list_projects", "bad_page_token", {"page_token": "not-a-token"}, expect="error"),
    S("list_projects", "page_size_over_max", {"page_size": 500}),
    S("list_projects", "empty_page_token", {"page_token": ""},
      notes="An empty page_token is still sent (`page_token=`)."),
    S("update_project", "display_name", {
        "name": P, "project": {"name": P, "spec": {"display_name": "Recorder app v2"}},
        "update_mask": "spec.display_name"}),
    S("update_project", "two_paths_wait", {
        "name": P, "project": {"spec": {"display_name": "Recorder app v3", "history_retention_duration": "1209600s"}},
        "update_mask": "spec.display_name,spec.history_retention_duration"}, wait=True),
    S("update_project", "default_endpoint_settings_wait", {
        "name": P,
        "project": {"spec": {"default_endpoint_settings": {
            "autoscaling_limit_min_cu": 0.5, "autoscaling_limit_max_cu": 4, "suspend_timeout_duration": "600s"}}},
        "update_mask": "spec.default_endpoint_settings"}, wait=True),
    S("update_project", "suspension_oneof", {
        "name": P, "project": {"spec": {"default_endpoint_settings": {"no_suspension": True}}},
        "update_mask": "spec.default_endpoint_settings.suspension"}, wait=True),
    S("update_project", "leaf_paths", {
        "name": P,
        "project": {"spec": {"default_endpoint_settings": {"autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 2}}},
        "update_mask": "spec.default_endpoint_settings.autoscaling_limit_min_cu,"
                       "spec.default_endpoint_settings.autoscaling_limit_max_cu"}, wait=True),
    S("update_project", "custom_tags", {
        "name": P, "project": {"spec": {"custom_tags": [{"key": "team", "value": "platform"}]}},
        "update_mask": "spec.custom_tags"}),
    S("update_project", "mask_not_in_body", {
        "name": P, "project": {"spec": {"display_name": "x"}}, "update_mask": "spec.history_retention_duration"},
      expect="error"),
    S("update_project", "immutable_pg_version", {
        "name": P, "project": {"spec": {"pg_version": 16}}, "update_mask": "spec.pg_version"}, expect="error"),
    S("update_project", "mask_with_space", {
        "name": P, "project": {"spec": {"display_name": "Spaced", "enable_pg_native_login": False}},
        "update_mask": "spec.display_name, spec.enable_pg_native_login"}, expect="error",
      notes="The SDK sends the mask string unchanged, space included; mask paths are literal, so the "
            "server refuses ' spec.enable_pg_native_login'."),
    S("update_project", "star", {
        "name": P, "project": {"spec": {"display_name": "Star"}}, "update_mask": "*"},
      notes="`*` replaces the whole spec; the immutable pg_version it leaves out is kept."),
    S("update_project", "name_mismatch", {
        "name": P, "project": {"name": "projects/other", "spec": {"display_name": "x"}},
        "update_mask": "spec.display_name"}, expect="error"),
    S("update_project", "not_found", {
        "name": "projects/nope", "project": {"spec": {"display_name": "x"}}, "update_mask": "spec.display_name"},
      expect="error"),
    S("update_project", "workspace_id_wait", {
        "name": P, "project": {"spec": {"display_name": "Recorder app"}}, "update_mask": "spec.display_name"},
      wait=True, config=WS),
    # ------------------------------------------------------------------ branches
    S("update_project", "full_resource_wait", lambda c: {
        "name": P, "project": edited(raw_get(c, P), "spec.display_name", "Round trip"),
        "update_mask": "spec.display_name"}, wait=True,
      notes="The body is a whole GET result (name, uid, status, times) with one spec field changed."),
    S("update_project", "history_retention_nanos", {
        "name": P, "project": {"spec": {"history_retention_duration": "172800.000000001s"}},
        "update_mask": "spec.history_retention_duration"}),
    S("create_project", "empty_containers_wait", {"project_id": "rec-empty", "project": {"spec": {
        "custom_tags": [], "default_endpoint_settings": {"pg_settings": {}}}}}, wait=True,
      notes="Empty lists and maps in the arguments: the SDK leaves them out of the body."),
    S("create_branch", "wait", {"parent": P, "branch_id": "dev",
                                "branch": {"spec": {"source_branch": PROD, "ttl": "604800s"}}}, wait=True),
    S("create_branch", "call_no_expiry", {"parent": P, "branch_id": "feature", "branch": {"spec": {"no_expiry": True}}}),
    S("get_branch", "init", {"name": f"{P}/branches/feature"},
      notes="Read right after the create, before the operation latency elapsed."),
    S("create_branch", "from_lsn_wait", {"parent": P, "branch_id": "lsn", "branch": {"spec": {
        "source_branch": PROD, "source_branch_lsn": "0/1A2B3C4D", "no_expiry": True, "is_protected": False}}},
      wait=True),
    S("create_branch", "expire_time", lambda c: {"parent": P, "branch_id": "exp", "branch": {"spec": {
        "expire_time": ts(2 * D)}}}),
    S("create_branch", "expire_time_offset_wait", lambda c: {"parent": P, "branch_id": "exp-offset", "branch": {
        "spec": {"expire_time": ts_offset(2 * D, 2, 250)}}}, wait=True),
    S("create_branch", "ttl_fraction_poll_503_wait", {"parent": P, "branch_id": "ttl-frac", "branch": {"spec": {
        "ttl": "86400.5s"}}}, wait=True, fault={"rate_503": 1.0, "retry_after_secs": 1}, fault_at=1,
      notes="The first operation poll is answered 503 and retried."),
    S("create_branch", "source_time_wait", lambda c: {"parent": P, "branch_id": "at-time", "branch": {"spec": {
        "source_branch": PROD, "source_branch_time": ts(-H), "no_expiry": True}}}, wait=True),
    S("create_branch", "replace_existing_wait", {"parent": P, "branch_id": "dev", "replace_existing": True,
                                                 "branch": {"spec": {"is_protected": True, "no_expiry": True}}},
      wait=True),
    S("create_branch", "replace_existing_false", {"parent": P, "branch_id": "dev", "replace_existing": False,
                                                  "branch": {"spec": {"no_expiry": True}}}, expect="error"),
    S("create_branch", "already_exists", {"parent": P, "branch_id": "dev", "branch": {"spec": {"no_expiry": True}}},
      expect="error"),
    S("create_branch", "empty_spec", {"parent": P, "branch_id": "noexp", "branch": {"spec": {}}}, expect="error"),
    S("create_branch", "no_expiry_false", {"parent": P, "branch_id": "noexp", "branch": {"spec": {"no_expiry": False}}},
      expect="error"),
    S("create_branch", "parent_not_found", {"parent": "projects/nope", "branch_id": "dev",
                                            "branch": {"spec": {"no_expiry": True}}}, expect="error"),
    S("create_branch", "invalid_id", {"parent": P, "branch_id": "Dev_Branch", "branch": {"spec": {"no_expiry": True}}},
      expect="error"),
    S("create_branch", "workspace_id", {"parent": P, "branch_id": "ws", "branch": {"spec": {"no_expiry": True}}},
      config=WS),
    S("get_branch", "basic", {"name": DEV}),
    S("get_branch", "default", {"name": PROD}),
    S("get_branch", "not_found", {"name": f"{P}/branches/nope"}, expect="error"),
    S("get_branch", "workspace_id", {"name": DEV}, config=WS),
    S("list_branches", "default", {"parent": P}),
    S("list_branches", "page_size_2", {"parent": P, "page_size": 2}),
    S("list_branches", "workspace_id_pages", {"parent": P, "page_size": 3}, config=WS),
    S("list_branches", "parent_not_found", {"parent": "projects/nope"}, expect="error"),
    S("delete_branch", "protected", {"name": DEV}, expect="error"),
    S("delete_branch", "default_branch", {"name": PROD}, expect="error"),
    S("update_branch", "is_protected_false", {"name": DEV, "branch": {"name": DEV, "spec": {"is_protected": False}},
                                              "update_mask": "spec.is_protected"}),
    S("update_branch", "expiration_oneof_wait", {"name": DEV, "branch": {"spec": {"ttl": "86400s"}},
                                                 "update_mask": "spec.expiration"}, wait=True),
    S("update_branch", "two_paths_wait", {"name": DEV, "branch": {"spec": {"is_protected": False, "no_expiry": True}},
                                          "update_mask": "spec.is_protected,spec.no_expiry"}, wait=True),
    S("update_branch", "expire_time_leaf", lambda c: {"name": f"{P}/branches/exp",
                                                      "branch": {"spec": {"expire_time": ts(3 * D)}},
                                                      "update_mask": "spec.expire_time"}),
    S("update_branch", "immutable_source", {"name": DEV, "branch": {"spec": {"source_branch": PROD}},
                                            "update_mask": "spec.source_branch"}, expect="error"),
    S("update_branch", "not_found", {"name": f"{P}/branches/nope", "branch": {"spec": {"is_protected": True}},
                                     "update_mask": "spec.is_protected"}, expect="error"),
    S("delete_branch", "call", {"name": f"{P}/branches/feature"}),
    S("delete_branch", "wait", {"name": f"{P}/branches/exp"}, wait=True),
    S("delete_branch", "purge_wait", {"name": f"{P}/branches/lsn", "purge": True}, wait=True),
    S("delete_branch", "purge_false", {"name": f"{P}/branches/at-time", "purge": False}),
    S("delete_branch", "op_failed_wait", {"name": f"{P}/branches/ttl-frac"}, wait=True,
      fault={"op_error_rate": 1.0}, expect="error"),
    S("delete_branch", "workspace_id_wait", {"name": f"{P}/branches/ws"}, wait=True, config=WS),
    S("delete_branch", "not_found", {"name": f"{P}/branches/nope"}, expect="error"),
    S("get_branch", "soft_deleted", {"name": f"{P}/branches/feature"}),
    S("list_branches", "show_deleted", {"parent": P, "show_deleted": True}),
    S("list_branches", "show_deleted_false", {"parent": P, "show_deleted": False}),
    S("update_branch", "deleted", {"name": f"{P}/branches/feature", "branch": {"spec": {"is_protected": True}},
                                   "update_mask": "spec.is_protected"}, expect="error"),
    S("undelete_branch", "wait", {"name": f"{P}/branches/feature"}, wait=True),
    S("undelete_branch", "call", {"name": f"{P}/branches/exp"}),
    S("undelete_branch", "not_deleted", {"name": DEV}, expect="error"),
    S("undelete_branch", "not_found", {"name": f"{P}/branches/nope"}, expect="error"),
    # ------------------------------------------------------------------ endpoints
    S("create_endpoint", "wait", {"parent": DEV, "endpoint_id": "primary", "replace_existing": True, "endpoint": {"spec": {
        "endpoint_type": RW, "autoscaling_limit_min_cu": 0.5, "autoscaling_limit_max_cu": 2,
        "suspend_timeout_duration": "300s"}}}, wait=True),
    S("create_endpoint", "read_only_call", {"parent": DEV, "endpoint_id": "dev-ro", "endpoint": {"spec": {
        "endpoint_type": RO, "autoscaling_limit_min_cu": 0.5, "autoscaling_limit_max_cu": 1, "no_suspension": True,
        "settings": {"pg_settings": {"work_mem": "32MB", "statement_timeout": "30s"}}}}}),
    S("create_endpoint", "group_wait", {"parent": DEV, "endpoint_id": "dev-group", "endpoint": {"spec": {
        "endpoint_type": RO, "group": {"min": 2, "max": 2, "enable_readable_secondaries": True}}}}, wait=True),
    S("create_endpoint", "second_read_write", {"parent": DEV, "endpoint_id": "dev-rw2",
                                               "endpoint": {"spec": {"endpoint_type": RW}}}, expect="error"),
    S("create_endpoint", "replace_existing_wait", {"parent": DEV, "endpoint_id": "dev-ro", "replace_existing": True,
                                                   "endpoint": {"spec": {"endpoint_type": RO,
                                                                         "autoscaling_limit_min_cu": 1,
                                                                         "autoscaling_limit_max_cu": 2}}},
      wait=True),
    S("create_endpoint", "already_exists", {"parent": DEV, "endpoint_id": "primary",
                                            "endpoint": {"spec": {"endpoint_type": RW}}}, expect="error"),
    S("create_endpoint", "missing_type", {"parent": DEV, "endpoint_id": "typeless", "endpoint": {"spec": {}}},
      expect="error"),
    S("create_endpoint", "branch_not_found", {"parent": f"{P}/branches/nope", "endpoint_id": "x",
                                              "endpoint": {"spec": {"endpoint_type": RO}}}, expect="error"),
    S("get_endpoint", "basic", {"name": DEV_RW}),
    S("get_endpoint", "primary", {"name": f"{PROD}/endpoints/primary"}),
    S("get_endpoint", "group", {"name": f"{DEV}/endpoints/dev-group"}),
    S("get_endpoint", "not_found", {"name": f"{DEV}/endpoints/nope"}, expect="error"),
    S("list_endpoints", "default", {"parent": DEV}),
    S("list_endpoints", "page_size_1", {"parent": DEV, "page_size": 1}),
    S("update_endpoint", "autoscaling_two_paths", {"name": DEV_RW, "endpoint": {"name": DEV_RW, "spec": {
        "endpoint_type": RW, "autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 4}},
        "update_mask": "spec.autoscaling_limit_min_cu,spec.autoscaling_limit_max_cu"}),
    S("get_endpoint", "pending", {"name": DEV_RW}, notes="Read right after the update, before it settled."),
    S("update_endpoint", "suspension_oneof_wait", {"name": DEV_RW, "endpoint": {"spec": {
        "endpoint_type": RW, "no_suspension": True}}, "update_mask": "spec.suspension"}, wait=True),
    S("update_endpoint", "pg_settings_wait", {"name": DEV_RW, "endpoint": {"spec": {
        "endpoint_type": RW, "settings": {"pg_settings": {"max_connections": "200"}}}},
        "update_mask": "spec.settings.pg_settings"}, wait=True),
    S("update_endpoint", "disabled_slow_wait", {"name": f"{DEV}/endpoints/dev-ro", "endpoint": {"spec": {
        "endpoint_type": RO, "disabled": True}}, "update_mask": "spec.disabled"}, wait=True, slow=True),
    S("update_endpoint", "group", {"name": f"{DEV}/endpoints/dev-group", "endpoint": {"spec": {
        "endpoint_type": RO, "group": {"min": 3, "max": 3}}}, "update_mask": "spec.group"}),
    S("update_endpoint", "full_resource_wait", lambda c: {
        "name": DEV_RW, "endpoint": edited(raw_get(c, DEV_RW), "spec.autoscaling_limit_max_cu", 3),
        "update_mask": "spec.autoscaling_limit_max_cu"}, wait=True),
    S("create_endpoint", "empty_pg_settings_wait", {"parent": DEV, "endpoint_id": "dev-ro2", "endpoint": {"spec": {
        "endpoint_type": RO, "settings": {"pg_settings": {}}}}}, wait=True),
    S("update_endpoint", "immutable_type", {"name": DEV_RW, "endpoint": {"spec": {"endpoint_type": RO}},
                                            "update_mask": "spec.endpoint_type"}, expect="error"),
    S("update_endpoint", "op_failed_wait", {"name": DEV_RW, "endpoint": {"spec": {
        "endpoint_type": RW, "autoscaling_limit_max_cu": 8}}, "update_mask": "spec.autoscaling_limit_max_cu"},
      wait=True, fault={"op_error_rate": 1.0}, expect="error"),
    S("generate_database_credential", "default", {"endpoint": DEV_RW}),
    S("generate_database_credential", "ttl", {"endpoint": DEV_RW, "ttl": "900s"}),
    S("generate_database_credential", "expire_time", lambda c: {"endpoint": DEV_RW, "expire_time": ts(10 * 60 * datetime.timedelta(seconds=1))}),
    S("generate_database_credential", "expire_time_offset", lambda c: {
        "endpoint": DEV_RW, "expire_time": ts_offset(datetime.timedelta(minutes=30), -5, 500)}),
    S("generate_database_credential", "claims", {"endpoint": DEV_RW, "claims": [
        {"permission_set": "READ_ONLY", "resources": [{"table_name": "main.sales.orders"},
                                                      {"table_name": "main.sales.customers"}]}]}),
    S("generate_database_credential", "empty_claims", {"endpoint": DEV_RW, "claims": []},
      notes="The SDK builds this body field by field: an empty claims list is sent as []."),
    S("generate_database_credential", "claim_without_resources", {"endpoint": DEV_RW, "claims": [
        {"permission_set": "READ_ONLY", "resources": []}]}),
    S("generate_database_credential", "bad_ttl", {"endpoint": DEV_RW, "ttl": "60s"}, expect="error"),
    S("generate_database_credential", "ttl_and_expire_time", lambda c: {
        "endpoint": DEV_RW, "ttl": "600s", "expire_time": ts(datetime.timedelta(minutes=20))}, expect="error"),
    S("generate_database_credential", "endpoint_not_found", {"endpoint": f"{DEV}/endpoints/nope"}, expect="error"),
    # ------------------------------------------------------------------ roles
    S("create_role", "wait", {"parent": DEV, "role_id": "app-owner", "role": {"spec": {
        "postgres_role": "app_owner", "attributes": {"createdb": True, "createrole": False, "bypassrls": False},
        "membership_roles": ["DATABRICKS_SUPERUSER"]}}}, wait=True),
    S("create_role", "call_generated_id", {"parent": DEV, "role": {"spec": {"postgres_role": "reader"}}}),
    S("create_role", "group_no_login_wait", {"parent": DEV, "role_id": "analysts", "role": {"spec": {
        "postgres_role": "analysts", "identity_type": "GROUP", "auth_method": "NO_LOGIN"}}}, wait=True),
    S("create_role", "user_oauth_wait", {"parent": DEV, "role_id": "alice", "role": {"spec": {
        "postgres_role": "alice@example.com", "identity_type": "USER"}}}, wait=True),
    S("create_role", "empty_role_wait", {"parent": DEV, "role": {}}, wait=True),
    S("create_role", "empty_role_id", {"parent": DEV, "role_id": "", "role": {"spec": {"postgres_role": "blank_id"}}},
      notes="An empty role_id is still sent (`role_id=`)."),
    S("create_role", "empty_membership_wait", {"parent": DEV, "role_id": "no-members", "role": {"spec": {
        "postgres_role": "no_members", "membership_roles": [], "attributes": {}}}}, wait=True),
    S("create_role", "replace_existing_wait", {"parent": DEV, "role_id": "app-owner", "replace_existing": True,
                                               "role": {"spec": {"postgres_role": "app_owner", "attributes": {
                                                   "createdb": True, "createrole": True, "bypassrls": False}}}},
      wait=True),
    S("create_role", "already_exists", {"parent": DEV, "role_id": "app-owner",
                                        "role": {"spec": {"postgres_role": "app_owner"}}}, expect="error"),
    S("create_role", "replace_without_id", {"parent": DEV, "replace_existing": True,
                                            "role": {"spec": {"postgres_role": "x"}}}, expect="error"),
    S("create_role", "duplicate_postgres_role", {"parent": DEV, "role_id": "app-owner-2",
                                                 "role": {"spec": {"postgres_role": "app_owner"}}}, expect="error"),
    S("create_role", "invalid_id", {"parent": DEV, "role_id": "ab", "role": {"spec": {"postgres_role": "ab"}}},
      expect="error"),
    S("create_role", "retry_503", {"parent": DEV, "role_id": "writer", "role": {"spec": {"postgres_role": "writer"}}},
      fault={"rate_503": 1.0, "retry_after_secs": 1}),
    S("get_role", "basic", {"name": APP_OWNER}),
    S("get_role", "oauth_user", {"name": ALICE}),
    S("get_role", "not_found", {"name": f"{DEV}/roles/nobody"}, expect="error"),
    S("list_roles", "default", {"parent": DEV}),
    S("list_roles", "page_size_2", {"parent": DEV, "page_size": 2}),
    S("list_roles", "retry_429_second_page", {"parent": DEV, "page_size": 2},
      fault={"rate_429": 1.0, "retry_after_secs": 1}, fault_at=1),
    S("update_role", "attribute_leaf", {"name": APP_OWNER, "role": {"name": APP_OWNER, "spec": {
        "postgres_role": "app_owner", "attributes": {"createdb": False}}}, "update_mask": "spec.attributes.createdb"}),
    S("update_role", "attributes_two_wait", {"name": APP_OWNER, "role": {"spec": {"attributes": {
        "createrole": False, "bypassrls": True}}},
        "update_mask": "spec.attributes.createrole,spec.attributes.bypassrls"}, wait=True),
    S("update_role", "full_resource", lambda c: {
        "name": APP_OWNER, "role": edited(raw_get(c, APP_OWNER), "spec.attributes.createdb", True),
        "update_mask": "spec.attributes.createdb"}),
    S("update_role", "membership_set_wait", {"name": APP_OWNER, "role": {"spec": {
        "membership_roles": ["DATABRICKS_SUPERUSER"]}}, "update_mask": "spec.membership_roles"}, wait=True),
    S("update_role", "membership_clear", {"name": APP_OWNER, "role": {"spec": {"membership_roles": []}},
                                          "update_mask": "spec.membership_roles"}, expect="error",
      notes="The SDK omits the empty list, so the mask names a field the body lacks."),
    S("update_role", "immutable_postgres_role", {"name": APP_OWNER, "role": {"spec": {"postgres_role": "other"}},
                                                 "update_mask": "spec.postgres_role"}, expect="error"),
    S("reveal_role_password", "basic", {"name": APP_OWNER}),
    S("reveal_role_password", "oauth_role", {"name": ALICE}, expect="error"),
    S("reveal_role_password", "group_no_login", {"name": ANALYSTS}, expect="error"),
    S("reveal_role_password", "not_found", {"name": f"{DEV}/roles/nobody"}, expect="error"),
    # ------------------------------------------------------------------ databases
    S("create_database", "wait", {"parent": DEV, "database_id": "app-db", "database": {"spec": {
        "postgres_database": "app_db", "role": APP_OWNER}}}, wait=True),
    S("create_database", "call_named", {"parent": DEV, "database_id": "reports", "database": {"spec": {
        "role": ANALYSTS}}}),
    S("create_database", "generated_id_wait", {"parent": DEV, "database": {"spec": {"role": ANALYSTS}}}, wait=True,
      save=save_name("gen_db")),
    S("create_database", "empty_database_id", {"parent": DEV, "database_id": "", "database": {"spec": {
        "role": ANALYSTS}}}),
    S("create_database", "replace_existing_wait", {"parent": DEV, "database_id": "app-db", "replace_existing": True,
                                                   "database": {"spec": {"postgres_database": "app_db",
                                                                         "role": APP_OWNER}}}, wait=True),
    S("create_database", "already_exists", {"parent": DEV, "database_id": "app-db",
                                            "database": {"spec": {"role": APP_OWNER}}}, expect="error"),
    S("create_database", "missing_role", {"parent": DEV, "database_id": "orphan",
                                          "database": {"spec": {"postgres_database": "orphan"}}}, expect="error"),
    S("create_database", "role_not_found", {"parent": DEV, "database_id": "ghost-db",
                                            "database": {"spec": {"role": f"{DEV}/roles/ghost"}}}, expect="error"),
    S("create_database", "duplicate_postgres_database", {"parent": DEV, "database_id": "app-db-2",
                                                         "database": {"spec": {"postgres_database": "app_db",
                                                                               "role": APP_OWNER}}},
      expect="error"),
    S("get_database", "basic", {"name": APP_DB}),
    S("get_database", "not_found", {"name": f"{DEV}/databases/nope"}, expect="error"),
    S("list_databases", "default", {"parent": DEV}),
    S("list_databases", "page_size_1", {"parent": DEV, "page_size": 1}),
    S("update_database", "role_wait", {"name": REPORTS_DB, "database": {"name": REPORTS_DB, "spec": {
        "role": APP_OWNER}}, "update_mask": "spec.role"}, wait=True),
    S("update_database", "rename", {"name": REPORTS_DB, "database": {"spec": {"postgres_database": "reports_v2"}},
                                    "update_mask": "spec.postgres_database"}),
    S("update_database", "two_paths_wait", {"name": REPORTS_DB, "database": {"spec": {
        "postgres_database": "reports_v3", "role": APP_OWNER}}, "update_mask": "spec.role,spec.postgres_database"},
      wait=True),
    S("update_database", "mask_not_in_body", {"name": REPORTS_DB, "database": {"spec": {"role": APP_OWNER}},
                                              "update_mask": "spec.postgres_database"}, expect="error"),
    S("update_database", "not_found", {"name": f"{DEV}/databases/nope", "database": {"spec": {"role": APP_OWNER}},
                                       "update_mask": "spec.role"}, expect="error"),
    # ------------------------------------------------------------------ data api
    S("create_data_api", "wait", {"parent": APP_DB, "data_api": {"spec": {
        "db_schemas": ["public", "api"], "db_max_rows": 1000, "jwt_cache_max_lifetime": "300s",
        "openapi_mode": "OPEN_API_MODE_IGNORE_PRIVILEGES", "server_cors_allowed_origins": ["https://app.example.com"],
        "server_timing_enabled": True, "db_aggregates_enabled": False, "jwt_role_claim_key": ".role",
        "db_extra_search_path": ["extensions"]}}}, wait=True),
    S("create_data_api", "call_empty", {"parent": REPORTS_DB, "data_api": {}}),
    S("create_data_api", "already_exists", {"parent": APP_DB, "data_api": {}}, expect="error"),
    S("create_data_api", "database_not_found", {"parent": f"{DEV}/databases/nope", "data_api": {}}, expect="error"),
    S("get_data_api", "basic", {"name": f"{APP_DB}/data-api"}),
    S("get_data_api", "not_found", lambda c: {"name": f"{c['gen_db']}/data-api"}, expect="error"),
    S("update_data_api", "db_max_rows", {"name": f"{APP_DB}/data-api", "data_api": {"spec": {"db_max_rows": 500}},
                                         "update_mask": "spec.db_max_rows"}),
    S("update_data_api", "whole_spec_wait", {"name": f"{APP_DB}/data-api", "data_api": {
        "name": f"{APP_DB}/data-api", "spec": {"db_schemas": ["public"], "server_timing_enabled": False}},
        "update_mask": "spec"}, wait=True),
    S("update_data_api", "two_paths_wait", {"name": f"{APP_DB}/data-api", "data_api": {"spec": {
        "db_schemas": ["public", "reporting"], "jwt_cache_max_lifetime": "1.5s"}},
        "update_mask": "spec.db_schemas,spec.jwt_cache_max_lifetime"}, wait=True),
    S("update_data_api", "invalid_schema", {"name": f"{APP_DB}/data-api", "data_api": {"spec": {
        "db_schemas": ["1bad"]}}, "update_mask": "spec.db_schemas"}, expect="error"),
    # ------------------------------------------------------------------ change data feed
    S("create_cdf_config", "wait_default_id", {"parent": APP_DB, "cdf_config": {
        "catalog": "main", "schema": "cdf_public", "postgres_schema": "public"}}, wait=True),
    S("create_cdf_config", "call_with_id", {"parent": APP_DB, "cdf_config_id": "orders_feed", "cdf_config": {
        "catalog": "main", "schema": "cdf_orders", "postgres_schema": "orders"}}),
    S("create_cdf_config", "audit_wait", {"parent": APP_DB, "cdf_config_id": "audit", "cdf_config": {
        "catalog": "main", "schema": "cdf_audit", "postgres_schema": "audit"}}, wait=True),
    S("create_cdf_config", "empty_id", {"parent": APP_DB, "cdf_config_id": "", "cdf_config": {
        "catalog": "main", "schema": "cdf_blank", "postgres_schema": "blank"}}),
    S("create_cdf_config", "already_exists", {"parent": APP_DB, "cdf_config": {
        "catalog": "main", "schema": "cdf_public", "postgres_schema": "public"}}, expect="error"),
    S("create_cdf_config", "missing_field", {"parent": APP_DB, "cdf_config_id": "partial", "cdf_config": {
        "catalog": "main", "schema": "cdf_partial"}}, expect="error"),
    S("create_cdf_config", "invalid_id", {"parent": APP_DB, "cdf_config_id": "Bad-Id", "cdf_config": {
        "catalog": "main", "schema": "s", "postgres_schema": "public"}}, expect="error"),
    S("get_cdf_config", "basic", {"name": f"{APP_DB}/cdf-configs/public"}),
    S("get_cdf_config", "not_found", {"name": f"{APP_DB}/cdf-configs/nope"}, expect="error"),
    S("list_cdf_configs", "default", {"parent": APP_DB}),
    S("list_cdf_configs", "page_size_1", {"parent": APP_DB, "page_size": 1}),
    S("list_cdf_statuses", "empty", {"parent": f"{APP_DB}/cdf-configs/public"}),
    S("list_cdf_statuses", "page_size_1_empty", {"parent": f"{APP_DB}/cdf-configs/public", "page_size": 1}),
    S("list_cdf_statuses", "config_not_found", {"parent": f"{APP_DB}/cdf-configs/nope"}, expect="error"),
    S("get_cdf_status", "not_found", {"name": f"{APP_DB}/cdf-configs/public/cdf-statuses/orders"}, expect="error"),
    S("get_cdf_status", "basic", {"name": f"{APP_DB}/cdf-configs/public/cdf-statuses/orders"},
      before=cdf_status(f"{APP_DB}/cdf-configs/public", "orders")),
    S("list_cdf_statuses", "two", {"parent": f"{APP_DB}/cdf-configs/public"},
      before=cdf_status(f"{APP_DB}/cdf-configs/public", "customers")),
    S("list_cdf_statuses", "page_size_1", {"parent": f"{APP_DB}/cdf-configs/public", "page_size": 1}),
    S("delete_cdf_config", "force_wait", {"name": f"{APP_DB}/cdf-configs/orders_feed", "force": True}, wait=True),
    S("delete_cdf_config", "force_false", {"name": f"{APP_DB}/cdf-configs/audit", "force": False}),
    S("delete_cdf_config", "call", {"name": f"{APP_DB}/cdf-configs/public"}),
    S("delete_cdf_config", "not_found", {"name": f"{APP_DB}/cdf-configs/public"}, expect="error"),
    # ------------------------------------------------------------------ snapshots
    S("create_snapshot", "wait", {"parent": P, "snapshot_id": "snap-1", "snapshot": {"spec": {
        "source_branch": PROD, "ttl": "86400s"}}}, wait=True),
    S("create_snapshot", "call_lsn", {"parent": P, "snapshot_id": "snap-2", "snapshot": {"spec": {
        "source_branch": DEV, "source_branch_lsn": "0/16B3748", "no_expiry": True}}}),
    S("create_snapshot", "ttl_fraction", {"parent": P, "snapshot_id": "snap-4", "snapshot": {"spec": {
        "source_branch": PROD, "ttl": "3600.000s"}}}),
    S("create_snapshot", "expire_time_wait", lambda c: {"parent": P, "snapshot_id": "snap-3", "snapshot": {"spec": {
        "source_branch": PROD, "expire_time": ts(3 * D), "source_branch_time": ts(-datetime.timedelta(minutes=10))}}},
      wait=True),
    S("create_snapshot", "already_exists", {"parent": P, "snapshot_id": "snap-1", "snapshot": {"spec": {
        "source_branch": PROD}}}, expect="error"),
    S("create_snapshot", "missing_source", {"parent": P, "snapshot_id": "snap-x", "snapshot": {"spec": {
        "ttl": "3600s"}}}, expect="error"),
    S("get_snapshot", "basic", {"name": f"{P}/snapshots/snap-1"}),
    S("get_snapshot", "not_found", {"name": f"{P}/snapshots/nope"}, expect="error"),
    S("list_snapshots", "default", {"parent": P}),
    S("list_snapshots", "page_size_2", {"parent": P, "page_size": 2}),
    S("create_branch", "from_snapshot_wait", {"parent": P, "branch_id": "restored", "branch": {"spec": {
        "source_snapshot": f"{P}/snapshots/snap-1", "no_expiry": True}}}, wait=True),
    S("delete_snapshot", "call", {"name": f"{P}/snapshots/snap-3"}),
    S("delete_snapshot", "wait", {"name": f"{P}/snapshots/snap-2"}, wait=True),
    S("delete_snapshot", "not_found", {"name": f"{P}/snapshots/snap-3"}, expect="error"),
    S("get_snapshot_schedule", "unset", {"name": f"{DEV}/snapshot-schedule"}),
    S("get_snapshot_schedule", "not_found", {"name": f"{P}/branches/nope/snapshot-schedule"}, expect="error"),
    S("update_snapshot_schedule", "daily_wait", {"name": f"{DEV}/snapshot-schedule", "snapshot_schedule": {
        "name": f"{DEV}/snapshot-schedule",
        "schedule": [{"retention": "604800s", "daily_schedule": {"hour": 3}}]}, "update_mask": "schedule"},
      wait=True),
    S("update_snapshot_schedule", "weekly_monthly", {"name": f"{DEV}/snapshot-schedule", "snapshot_schedule": {
        "schedule": [{"retention": "2592000s", "weekly_schedule": {"day_of_week": "SUNDAY", "hour": 4}},
                     {"retention": "31536000s", "monthly_schedule": {"day": 1, "hour": 0}}]},
        "update_mask": "schedule"}),
    S("get_snapshot_schedule", "set", {"name": f"{DEV}/snapshot-schedule"}),
    S("update_snapshot_schedule", "daily_empty_wait", {"name": f"{PROD}/snapshot-schedule", "snapshot_schedule": {
        "schedule": [{"retention": "86400s", "daily_schedule": {}}]}, "update_mask": "schedule"}, wait=True),
    S("get_snapshot_schedule", "daily_empty", {"name": f"{PROD}/snapshot-schedule"}),
    S("update_snapshot_schedule", "clear", {"name": f"{DEV}/snapshot-schedule", "snapshot_schedule": {
        "schedule": []}, "update_mask": "schedule"}, expect="error",
      notes="The SDK omits the empty list: the mask names a field the body lacks."),
    S("update_snapshot_schedule", "short_retention", {"name": f"{DEV}/snapshot-schedule", "snapshot_schedule": {
        "schedule": [{"retention": "60s", "daily_schedule": {"hour": 1}}]}, "update_mask": "schedule"},
      expect="error"),
    # ------------------------------------------------------------------ catalogs
    S("create_catalog", "wait", {"catalog_id": "rec_catalog", "catalog": {"spec": {
        "postgres_database": "app_db", "branch": DEV}}}, wait=True),
    S("create_catalog", "call_create_database", {"catalog_id": "rec_catalog_new", "catalog": {"spec": {
        "postgres_database": "new_db", "branch": DEV, "create_database_if_missing": True}}}),
    S("create_catalog", "already_exists", {"catalog_id": "rec_catalog", "catalog": {"spec": {
        "postgres_database": "app_db", "branch": DEV}}}, expect="error"),
    S("create_catalog", "missing_database", {"catalog_id": "rec_catalog_x", "catalog": {"spec": {
        "postgres_database": "missing_db", "branch": DEV}}}, expect="error"),
    S("create_catalog", "ambiguous_branch", {"catalog_id": "rec_catalog_y", "catalog": {"spec": {
        "postgres_database": "app_db"}}}, expect="error"),
    S("get_catalog", "basic", {"name": "catalogs/rec_catalog"}),
    S("get_catalog", "not_found", {"name": "catalogs/no_such_catalog"}, expect="error"),
    S("get_catalog", "non_ascii_not_found", {"name": "catalogs/café"}, expect="error",
      notes="requests percent-encodes non-ASCII path characters (UTF-8)."),
    S("get_catalog", "pipe_not_found", {"name": "catalogs/a|b"}, expect="error",
      notes="requests percent-encodes '|' in the path (%7C)."),
    # ------------------------------------------------------------------ synced tables
    S("create_synced_table", "wait", {"synced_table_id": "rec_catalog.public.orders", "synced_table": {"spec": {
        "source_table_full_name": "main.sales.orders", "primary_key_columns": ["order_id"],
        "scheduling_policy": "TRIGGERED", "branch": DEV, "postgres_database": "app_db",
        "new_pipeline_spec": {"storage_catalog": "main", "storage_schema": "pipelines"},
        "create_database_objects_if_missing": True}}}, wait=True),
    S("create_synced_table", "call_continuous", {"synced_table_id": "rec_catalog.public.events", "synced_table": {
        "spec": {"source_table_full_name": "main.sales.events", "primary_key_columns": ["event_id", "ts"],
                 "timeseries_key": "ts", "scheduling_policy": "CONTINUOUS", "branch": DEV,
                 "postgres_database": "app_db", "existing_pipeline_id": "0f6b8e6a-2c1d-4a59-9d7e-1b2c3d4e5f60"}}}),
    S("get_synced_table", "provisioning", {"name": "synced_tables/rec_catalog.public.events"}),
    S("create_synced_table", "snapshot_policy_wait", {"synced_table_id": "rec_catalog.public.items", "synced_table": {
        "spec": {"source_table_full_name": "main.sales.items", "primary_key_columns": ["item_id"],
                 "scheduling_policy": "SNAPSHOT", "branch": DEV, "postgres_database": "app_db",
                 "type_overrides": [{"column_name": "name", "pg_type": "PG_SPECIFIC_TYPE_VARCHAR", "size": 120}]}}},
      wait=True),
    S("create_synced_table", "already_exists", {"synced_table_id": "rec_catalog.public.orders", "synced_table": {
        "spec": {"source_table_full_name": "main.sales.orders", "branch": DEV, "postgres_database": "app_db"}}},
      expect="error"),
    S("create_synced_table", "invalid_id", {"synced_table_id": "orders", "synced_table": {"spec": {
        "source_table_full_name": "main.sales.orders", "branch": DEV, "postgres_database": "app_db"}}},
      expect="error"),
    S("get_synced_table", "basic", {"name": "synced_tables/rec_catalog.public.orders"}),
    S("get_synced_table", "not_found", {"name": "synced_tables/rec_catalog.public.missing"}, expect="error"),
    S("get_synced_table", "mixed_case_not_found", {"name": "synced_tables/Rec_Catalog.Public.Order-Items"},
      expect="error"),
    S("delete_synced_table", "call", {"name": "synced_tables/rec_catalog.public.events"}),
    S("delete_synced_table", "wait", {"name": "synced_tables/rec_catalog.public.orders"}, wait=True),
    S("delete_synced_table", "not_found", {"name": "synced_tables/rec_catalog.public.orders"}, expect="error"),
    S("delete_catalog", "call", {"name": "catalogs/rec_catalog_new"}),
    S("delete_catalog", "wait", {"name": "catalogs/rec_catalog"}, wait=True),
    S("delete_catalog", "not_found", {"name": "catalogs/rec_catalog"}, expect="error"),
    # ------------------------------------------------------------------ teardown of the dev branch
    S("delete_data_api", "call", {"name": f"{REPORTS_DB}/data-api"}),
    S("delete_data_api", "wait", {"name": f"{APP_DB}/data-api"}, wait=True),
    S("delete_data_api", "not_found", {"name": f"{APP_DB}/data-api"}, expect="error"),
    S("delete_role", "owns_databases", {"name": APP_OWNER}, expect="error"),
    S("delete_role", "reassign_owned_to_wait", {"name": APP_OWNER, "reassign_owned_to": ALICE}, wait=True),
    S("get_database", "after_reassign", {"name": APP_DB}),
    S("delete_role", "reassign_short_id", {"name": ALICE, "reassign_owned_to": "analysts"}),
    S("delete_role", "call", {"name": f"{DEV}/roles/writer"}),
    S("delete_role", "empty_reassign", {"name": f"{DEV}/roles/no-members", "reassign_owned_to": ""}),
    S("delete_role", "not_found", {"name": f"{DEV}/roles/nobody"}, expect="error"),
    S("delete_database", "call", lambda c: {"name": c["gen_db"]}),
    S("delete_database", "wait", {"name": REPORTS_DB}, wait=True),
    S("delete_database", "not_found", {"name": REPORTS_DB}, expect="error"),
    # The waited delete first: an endpoint deletion keeps its branch reconciling until its
    # operation is done, so a delete sent right after an unwaited one would get the 409.
    S("delete_endpoint", "wait", {"name": f"{DEV}/endpoints/dev-ro"}, wait=True),
    S("delete_endpoint", "call", {"name": f"{DEV}/endpoints/dev-group"}),
    S("delete_endpoint", "not_found", {"name": f"{DEV}/endpoints/dev-ro"}, expect="error"),
    # ------------------------------------------------------------------ project deletion
    S("delete_project", "call", {"name": "projects/rec-min"}),
    S("delete_project", "wait", {"name": "projects/rec-slow"}, wait=True),
    S("delete_project", "purge_wait", {"name": "projects/rec-retry", "purge": True}, wait=True),
    S("delete_project", "purge_false_wait", {"name": "projects/rec-pending", "purge": False}, wait=True),
    S("delete_project", "not_found", {"name": "projects/rec-retry"}, expect="error"),
    S("get_project", "soft_deleted", {"name": "projects/rec-min"}),
    S("list_projects", "show_deleted", {"show_deleted": True}),
    S("list_projects", "show_deleted_page_size_1", {"show_deleted": True, "page_size": 1}),
    S("update_project", "deleted", {"name": "projects/rec-min", "project": {"spec": {"display_name": "x"}},
                                    "update_mask": "spec.display_name"}, expect="error"),
    S("get_branch", "in_deleted_project", {"name": "projects/rec-min/branches/production"}, expect="error"),
    S("undelete_project", "wait", {"name": "projects/rec-min"}, wait=True),
    S("undelete_project", "call", {"name": "projects/rec-slow"}),
    S("undelete_project", "not_deleted", {"name": P}, expect="error"),
    S("undelete_project", "not_found", {"name": "projects/rec-retry"}, expect="error"),
    S("delete_project", "workspace_id_purge_wait", {"name": "projects/rec-ies", "purge": True}, wait=True, config=WS),
    S("list_projects", "final", {}),
]

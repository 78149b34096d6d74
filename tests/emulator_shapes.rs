//! Emulator shape conformance: the requests of every recorded cassette
//! (`tests/conformance/cassettes`), replayed against `lakebase-emulator`, get responses of
//! the same shape as the recording (same status codes, same fields present).
//!
//! One `libtest-mimic` case per cassette, named by its id. Each case:
//! 1. starts a fresh emulator (zero operation latency, the cassettes' token; the default
//!    page size is the recording's first page size when the first request gives none);
//! 2. arranges the state the recording implies through the HTTP API ([`arrange`]): the
//!    parents named by the first request's path and body, and the target resource when
//!    the recording expects it to exist (from the recorded resource when there is one);
//! 3. sends the cassette's requests in order, replacing server-assigned values by the
//!    emulator's own (operation names in polls, page tokens), polling an operation until
//!    the emulator says `done`; recorded 429/503 answers are reproduced with the emulator's
//!    fault injection for that one request;
//! 4. compares shapes ([`shape`]): the first response and every non-poll response with
//!    their recorded counterparts, and the final poll with the recorded final poll.
//!
//! A case passes when there is no difference, or when it is listed in [`EXCEPTIONS`] and
//! its differences are exactly the listed ones (so an exception that stops applying, or a
//! new difference in an excepted case, fails too).

#[path = "emulator_shapes/arrange.rs"]
mod arrange;
#[path = "emulator_shapes/shape.rs"]
mod shape;

use std::time::Duration;

use lakebase_conformance::cassette::{self, Cassette, Exchange, Loaded};
use lakebase_emulator::{Emulator, FaultConfig};
use libtest_mimic::{Arguments, Failed, Trial};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::{Value, json};

use arrange::{Api, Arranger, Kind, PREFIX, kind_of, parent_of};
use shape::{Observed, compare_response};

/// The token the cassettes were recorded with (`tests/conformance/README.md`).
const TOKEN: &str = "dapi-conformance-token";
/// Most polls of one operation before the case fails.
const MAX_POLLS: usize = 200;

/// A cassette whose shape differences are known and reviewed.
struct Exception {
    /// Cassette id.
    id: &'static str,
    /// Why the difference exists (one line).
    reason: &'static str,
    /// The exact differences the case must still show.
    diffs: &'static [&'static str],
}

/// Reviewed exceptions. Every entry is checked to still produce exactly these differences.
/// Reasons start with the category: `EMULATOR GAP` (reported to the lead; the emulator is
/// not changed here), `NOT REPRODUCIBLE` (the emulator has no such behaviour by design) or
/// `RECORDING` (the scripted server's answer is not one the request implies).
const EXCEPTIONS: &[Exception] = &[
    Exception {
        id: "create_project/wait",
        reason: "RECORDING (possible gap, for review): the scripted final response echoes an initial_branch_spec the \
                 request did not send (its initial_endpoint_spec differs from the request too); the emulator echoes \
                 only what was sent",
        diffs: &["final response: missing $.response.initial_branch_spec"],
    },
    Exception {
        id: "delete_project/permission_denied",
        reason: "NOT REPRODUCIBLE: the emulator has no permissions (README: no permissions/403)",
        diffs: &["first response: status: recorded 403 (PERMISSION_DENIED), emulator 200 (no error_code)"],
    },
    Exception {
        id: "generate_database_credential/permission_denied",
        reason: "NOT REPRODUCIBLE: the emulator has no permissions (README: no permissions/403)",
        diffs: &["first response: status: recorded 403 (PERMISSION_DENIED), emulator 200 (no error_code)"],
    },
    Exception {
        id: "create_endpoint/call",
        reason: "RECORDING: the scripted server had no implicit endpoint, so creating `primary` on a new branch \
                 succeeded; the service gives every branch a read-write `primary` and answers a create without \
                 replace_existing 409 ALREADY_EXISTS (databricks/cli libs/testserver/postgres.go \
                 createDefaultEndpointLocked, acceptance/bundle/resources/postgres_endpoints/replace_existing)",
        diffs: &["first response: status: recorded 200, emulator 409 (ALREADY_EXISTS)"],
    },
    Exception {
        id: "list_cdf_statuses/no_page_size",
        reason: "NOT REPRODUCIBLE: the scripted server filled pages unevenly (1, 2, 1 items without page_size); the \
                 emulator fills every page to its default size (set to the recording's first page, 1)",
        diffs: &["response 3: extra $.next_page_token (the emulator has more pages than the recording)"],
    },
    Exception {
        id: "list_endpoints/page_size",
        reason: "NOT REPRODUCIBLE: the scripted server returned 2, 1, 1 items with page_size=2; the emulator fills \
                 pages to page_size, so it has 2 pages",
        diffs: &[
            "response 2: missing $.next_page_token",
            "response 3: the recording requests another page, the emulator's previous page has no next_page_token",
        ],
    },
    Exception {
        id: "list_projects/show_deleted",
        reason: "NOT REPRODUCIBLE: the scripted server returned 1 item per page with page_size=50; the emulator \
                 returns all 3 projects on one page",
        diffs: &[
            "first response: missing $.next_page_token",
            "response 2: the recording requests another page, the emulator's previous page has no next_page_token",
        ],
    },
    Exception {
        id: "list_roles/page_size",
        reason: "NOT REPRODUCIBLE: the scripted server gave a next_page_token on the last full page and then an \
                 empty page `{}`; the emulator gives no token once the collection is exhausted (both valid, AIP-158)",
        diffs: &[
            "response 2: missing $.next_page_token",
            "response 3: the recording requests another page, the emulator's previous page has no next_page_token",
        ],
    },
];

/// Client-chosen absolute times in request bodies that lie in the recording's past: sent
/// as `now + seconds` instead (the emulator validates them against its own clock).
const TIME_SHIFTS: &[(&str, &str, i64)] = &[("generate_database_credential/expire_time", "expire_time", 1800)];

/// A resource arranged from a given template instead of the recording's.
struct Template {
    /// Cassette id.
    id: &'static str,
    /// Resource name.
    name: &'static str,
    /// Why the recording cannot be used as is.
    reason: &'static str,
    /// The template (resource JSON).
    json: &'static str,
}

/// Reviewed arrangement templates.
const TEMPLATES: &[Template] = &[
    Template {
        id: "reveal_role_password/oauth_role",
        name: "projects/my-app/branches/dev/roles/alice-example-com",
        reason: "the recording (an error) does not show the role; its message says it uses LAKEBASE_OAUTH_V1",
        json: r#"{"spec": {"identity_type": "USER", "auth_method": "LAKEBASE_OAUTH_V1", "postgres_role": "alice@example.com"}}"#,
    },
    Template {
        id: "list_endpoints/page_size",
        name: "projects/my-app/branches/dev/endpoints/etl",
        reason: "the recording lists a second READ_WRITE endpoint on one branch, which the emulator (like the API) \
                 rejects; `etl` is arranged READ_ONLY with the same fields (endpoint_type is a value, not a key)",
        json: r#"{"spec": {"autoscaling_limit_max_cu": 4, "autoscaling_limit_min_cu": 0.5, "disabled": false,
                  "endpoint_type": "ENDPOINT_TYPE_READ_ONLY", "suspend_timeout_duration": "300s",
                  "settings": {"pg_settings": {"max_connections": "200"}}}}"#,
    },
];

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![Trial::test("shape_rules/self_test", || {
        shape::self_test().map_err(Failed::from)
    })];
    let loaded = cassette::load_dirs(&[cassette::builtin_dir()]);
    let ids: Vec<String> = loaded.iter().map(|l| l.name.clone()).collect();
    trials.push(Trial::test("exceptions/table_is_valid", move || {
        check_table(&ids).map_err(Failed::from)
    }));
    for l in loaded {
        let name = l.name.clone();
        let kind = name.split('/').next().unwrap_or_default().to_string();
        trials.push(Trial::test(name, move || run_trial(&l).map_err(Failed::from)).with_kind(kind));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Every exception and adjustment names an existing cassette, once, with a reason.
fn check_table(ids: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for e in EXCEPTIONS {
        if !ids.iter().any(|i| i == e.id) {
            return Err(format!("exception `{}` names no cassette", e.id));
        }
        if !seen.insert(e.id) {
            return Err(format!("exception `{}` is listed twice", e.id));
        }
        if e.reason.trim().is_empty() || e.diffs.is_empty() {
            return Err(format!("exception `{}` needs a reason and its differences", e.id));
        }
    }
    for t in TEMPLATES {
        if t.reason.trim().is_empty() {
            return Err(format!("template for `{}` needs a reason", t.id));
        }
    }
    for id in TIME_SHIFTS.iter().map(|t| t.0).chain(TEMPLATES.iter().map(|t| t.id)) {
        if !ids.iter().any(|i| i == id) {
            return Err(format!("adjustment for `{id}` names no cassette"));
        }
    }
    Ok(())
}

fn run_trial(l: &Loaded) -> Result<(), String> {
    let c = l.cassette.as_ref().map_err(Clone::clone)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let diffs = rt.block_on(run_case(c))?;
    judge(&c.id, &diffs)
}

/// Whether a difference is the one every recording of a read or an operation result shows,
/// reviewed once for all cases: the shared cassettes come from a scripted server that echoed
/// `spec`, while the service answers with `status` only, and so does the emulator
/// (databricks/cli libs/testserver/postgres.go: "Clear spec - API only returns status",
/// "the real API only echoes Status on GET"; the goldens of
/// acceptance/bundle/resources/postgres_*/ show remote state without `spec`).
fn is_spec_echo(diff: &str) -> bool {
    diff.rsplit_once(": missing $")
        .is_some_and(|(_, path)| path == ".spec" || path.ends_with(".spec"))
}

/// Compares the differences found (less [`is_spec_echo`] ones) with the exceptions table.
fn judge(id: &str, diffs: &[String]) -> Result<(), String> {
    let diffs: Vec<String> = diffs.iter().filter(|d| !is_spec_echo(d)).cloned().collect();
    let diffs = diffs.as_slice();
    let listed = |d: &str| d.replace('\n', " ");
    match EXCEPTIONS.iter().find(|e| e.id == id) {
        None if diffs.is_empty() => Ok(()),
        None => Err(format!(
            "{} shape difference(s) between the recording and the emulator:\n  {id}: {}",
            diffs.len(),
            diffs
                .iter()
                .map(|d| listed(d))
                .collect::<Vec<_>>()
                .join(&format!("\n  {id}: "))
        )),
        Some(e) => {
            let unexpected: Vec<&String> = diffs.iter().filter(|d| !e.diffs.contains(&d.as_str())).collect();
            let gone: Vec<&&str> = e.diffs.iter().filter(|d| !diffs.iter().any(|x| x == **d)).collect();
            if unexpected.is_empty() && gone.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "excepted case `{id}` ({}) no longer matches its EXCEPTIONS entry:\n  new: {unexpected:?}\n  no longer seen: {gone:?}",
                    e.reason
                ))
            }
        }
    }
}

/// Items per page of the recording's first page, when the first request gives no page size.
fn default_page_size(c: &Cassette) -> Option<usize> {
    let first = c.exchanges.first()?;
    if !c.method.starts_with("list_") || first.request.query.iter().any(|(k, _)| k == "page_size") {
        return None;
    }
    let n = list_items(&first.response.body).len();
    (n > 0).then_some(n)
}

/// Items of a list page (every array value of the body).
fn list_items(body: &Value) -> Vec<&Value> {
    body.as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_array)
        .flatten()
        .collect()
}

async fn run_case(c: &Cassette) -> Result<Vec<String>, String> {
    // Endpoints reconcile only where the recording shows the window (its 409); elsewhere
    // arranged endpoints are changed right away.
    let reconcile = if c.id == "delete_endpoint/conflict_reconciliation" {
        Duration::from_secs(60)
    } else {
        Duration::ZERO
    };
    let mut builder = Emulator::builder()
        .op_latency(Duration::ZERO)
        .reconcile(reconcile)
        .token(TOKEN);
    if let Some(n) = default_page_size(c) {
        builder = builder.default_page_size(n);
    }
    let emu = builder.start().await.map_err(|e| format!("emulator: {e}"))?;
    let api = Api::new(emu.base_url(), TOKEN);
    let mut ar = Arranger::new(&api, &emu);
    let setup = arrange_case(c, &mut ar).await?;
    replay(c, &api, &emu, &setup).await
}

/// Replacements for the first request, found while arranging.
#[derive(Default)]
struct Setup {
    /// Raw path replacing the recorded one (an operation name the emulator assigned).
    first_path: Option<String>,
    /// Page token replacing a caller-given one.
    first_page_token: Option<String>,
}

fn variant(c: &Cassette) -> &str {
    c.id.split_once('/').map_or("", |(_, v)| v)
}

/// The recorded resource of a finished operation (last exchange's `response`), if any.
fn final_resource(c: &Cassette) -> Option<&Value> {
    c.exchanges
        .last()
        .and_then(|e| e.response.body.get("response"))
        .filter(|r| r.get("name").is_some())
}

fn template_override(c: &Cassette, name: &str) -> Result<Option<Value>, String> {
    TEMPLATES
        .iter()
        .find(|t| t.id == c.id && t.name == name)
        .map(|t| serde_json::from_str(t.json).map_err(|e| format!("TEMPLATES entry for {}: {e}", c.id)))
        .transpose()
}

/// Ensures the target `name` unless the recording expects it absent.
async fn ensure_target(
    c: &Cassette,
    ar: &mut Arranger<'_>,
    name: &str,
    template: Option<&Value>,
) -> Result<(), String> {
    let v = variant(c);
    if v.contains("not_found") {
        // The resource the error names must not exist: a schedule "exists" with its branch.
        let parent = parent_of(name);
        let keep = match kind_of(name) {
            Some(Kind::Schedule) => parent.as_deref().and_then(parent_of),
            _ => parent,
        };
        return match keep {
            Some(p) => ar.ensure(&p, None).await,
            None => Ok(()),
        };
    }
    if v == "unset" {
        return ar.ensure_parents(name).await;
    }
    let overridden = template_override(c, name)?;
    ar.ensure(name, overridden.as_ref().or(template)).await
}

async fn arrange_case(c: &Cassette, ar: &mut Arranger<'_>) -> Result<Setup, String> {
    let first = &c.exchanges.first().ok_or("cassette without exchanges")?.request;
    let rest = first
        .path
        .strip_prefix(PREFIX)
        .ok_or_else(|| format!("path outside the API: {}", first.path))?;
    let body = &first.body;
    let first_ok = c
        .exchanges
        .iter()
        .map(|e| &e.response)
        .find(|r| (200..300).contains(&r.status))
        .map(|r| &r.body);
    let mut setup = Setup::default();
    let m = c.method.as_str();
    if m == "get_operation" {
        let recorded = &c.exchanges[0].response.body;
        let op = if let Some(resource) = recorded.get("response").filter(|r| r.get("name").is_some()) {
            let name = resource["name"].as_str().unwrap_or_default().to_string();
            ar.start_create(&name, Some(resource), false).await?
        } else if recorded.get("error").is_some() {
            // A failed operation: started (and failed) by the emulator's fault injection on a
            // create of the operation's root resource.
            let root = rest.split("/operations/").next().unwrap_or_default();
            ar.start_create(root, None, true).await?
        } else {
            return Err("get_operation recording without response or error".into());
        };
        let name = op["name"].as_str().ok_or("operation without a name")?;
        setup.first_path = Some(format!("{PREFIX}{name}"));
    } else if m.starts_with("list_") {
        let owner = rest.rsplit_once('/').map(|(o, _)| o.to_string());
        if let Some(o) = &owner {
            ar.ensure(o, None).await?;
        }
        let start_token = first.query.iter().any(|(k, _)| k == "page_token");
        if start_token {
            ar.create_anchor(rest).await?;
        }
        for e in &c.exchanges {
            for item in list_items(&e.response.body) {
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("list item without a name: {item}"))?;
                let overridden = template_override(c, name)?;
                let template = overridden.as_ref().unwrap_or(item);
                if item.pointer("/status/pending_state").is_some() {
                    // Listed while an operation on it was running.
                    ar.start_pending(name, Some(template)).await?;
                } else {
                    ar.ensure(name, Some(template)).await?;
                }
                if arrange::is_deleted(item) {
                    ar.soft_delete(name).await?;
                }
            }
        }
        if start_token {
            setup.first_page_token = Some(ar.anchor_token(rest).await?);
        }
    } else if m.starts_with("create_") {
        let (target, owner) = if kind_of(rest) == Some(Kind::DataApi) {
            (Some(rest.to_string()), parent_of(rest))
        } else {
            let owner = rest.rsplit_once('/').map(|(o, _)| o.to_string());
            let id = first.query.iter().find(|(k, _)| k.ends_with("_id")).map(|(_, v)| v);
            (id.map(|id| format!("{rest}/{id}")), owner)
        };
        if let Some(o) = &owner {
            ar.ensure(o, None).await?;
        }
        ar.ensure_refs(body, target.as_deref().unwrap_or_default()).await?;
        if matches!(rest, "catalogs" | "synced_tables") {
            let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
            let recorded = final_resource(c).cloned().unwrap_or_else(|| json!({}));
            let branch = spec
                .get("branch")
                .or_else(|| recorded.pointer("/status/branch"))
                .and_then(Value::as_str)
                .unwrap_or("projects/my-app/branches/production")
                .to_string();
            let if_missing = spec.get("create_database_if_missing").and_then(Value::as_bool) == Some(true);
            ar.ensure(&branch, None).await?;
            if let Some(pg) = spec.get("postgres_database").and_then(Value::as_str)
                && !if_missing
            {
                ar.ensure_pg_database(&branch, pg).await?;
            }
        }
        let v = variant(c);
        if (v.contains("already_exists") || v.contains("replace_existing"))
            && let Some(t) = &target
        {
            ar.ensure(t, Some(body)).await?;
        }
    } else if m.starts_with("update_") {
        ensure_target(c, ar, rest, final_resource(c)).await?;
        ar.ensure_refs(body, "").await?;
    } else if m.starts_with("delete_") {
        ensure_target(c, ar, rest, None).await?;
    } else if m.starts_with("undelete_") {
        let target = rest
            .strip_suffix("/undelete")
            .ok_or("undelete path without /undelete")?;
        ensure_target(c, ar, target, None).await?;
        ar.soft_delete(target).await?;
    } else if m == "reveal_role_password" {
        let target = rest
            .strip_suffix("/password")
            .ok_or("password path without /password")?;
        ensure_target(c, ar, target, None).await?;
    } else if m.starts_with("get_") {
        if variant(c) == "provisioning" {
            // The recording shows the resource while its create operation is still running.
            ar.ensure_parents(rest).await?;
            ar.start_pending(rest, first_ok).await?;
        } else {
            ensure_target(c, ar, rest, first_ok).await?;
        }
    } else {
        ar.ensure_refs(body, "").await?;
    }
    Ok(setup)
}

/// Strict percent-encoding of query components (`+`, `/`, `=` encoded, as the SDK does).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY)))
        .collect::<Vec<_>>()
        .join("&")
}

fn is_poll(i: usize, e: &Exchange) -> bool {
    i > 0 && e.request.method == "GET" && e.request.path.contains("/operations/")
}

fn done(o: &Observed) -> bool {
    o.body.get("done").and_then(Value::as_bool) == Some(true)
}

fn request_body(c: &Cassette, e: &Exchange) -> Value {
    let mut body = e.request.body.clone();
    for (id, field, secs) in TIME_SHIFTS {
        if *id == c.id && body.get(*field).is_some() {
            let t = chrono::Utc::now() + chrono::Duration::seconds(*secs);
            body[*field] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
    }
    body
}

async fn replay(c: &Cassette, api: &Api, emu: &Emulator, setup: &Setup) -> Result<Vec<String>, String> {
    let mut diffs = Vec::new();
    let mut prev: Option<Observed> = None;
    let mut op_name: Option<String> = None;
    let n = c.exchanges.len();
    let mut i = 0;
    while i < n {
        let e = &c.exchanges[i];
        let headers: Vec<(String, String)> = e.request.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if is_poll(i, e) {
            let mut j = i;
            while j + 1 < n && is_poll(j + 1, &c.exchanges[j + 1]) {
                j += 1;
            }
            let Some(name) = op_name.clone() else {
                diffs.push("final response: the emulator gave no operation to poll".to_string());
                break;
            };
            let path = format!("{PREFIX}{name}");
            let mut got = api.send(Method::GET, &path, &headers, None).await?;
            let mut polls = 1;
            while got.status == 200 && !done(&got) && polls < MAX_POLLS {
                tokio::time::sleep(Duration::from_millis(2)).await;
                got = api.send(Method::GET, &path, &headers, None).await?;
                polls += 1;
            }
            if got.status == 200 && !done(&got) {
                diffs.push(format!("final response: operation not done after {MAX_POLLS} polls"));
            }
            compare_response("final response", &c.exchanges[j].response, &got, &mut diffs);
            i = j + 1;
            continue;
        }
        let label = if i == 0 {
            "first response".to_string()
        } else {
            format!("response {}", i + 1)
        };
        let path = match (&setup.first_path, i) {
            (Some(p), 0) => p.clone(),
            _ => e.request.path.clone(),
        };
        let query = if e.request.query.iter().any(|(k, _)| k == "page_token") {
            let token = if i == 0 {
                setup.first_page_token.clone()
            } else {
                prev.as_ref()
                    .and_then(|p| p.body.get("next_page_token"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let Some(token) = token else {
                diffs.push(format!(
                    "{label}: the recording requests another page, the emulator's previous page has no next_page_token"
                ));
                break;
            };
            let pairs: Vec<(String, String)> = e
                .request
                .query
                .iter()
                .map(|(k, v)| (k.clone(), if k == "page_token" { token.clone() } else { v.clone() }))
                .collect();
            encode_query(&pairs)
        } else {
            e.request.raw_query.clone()
        };
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let method = Method::from_bytes(e.request.method.as_bytes()).map_err(|x| x.to_string())?;
        let body = request_body(c, e);
        let fault = match e.response.status {
            429 => Some(FaultConfig {
                rate_429: 1.0,
                ..FaultConfig::default()
            }),
            503 => Some(FaultConfig {
                rate_503: 1.0,
                ..FaultConfig::default()
            }),
            _ => None,
        };
        if let Some(f) = fault.clone() {
            emu.set_faults(f);
        }
        let got = api
            .send(method, &target, &headers, (!body.is_null()).then_some(&body))
            .await;
        if fault.is_some() {
            emu.set_faults(FaultConfig::default());
        }
        let got = got?;
        compare_response(&label, &e.response, &got, &mut diffs);
        if c.method.starts_with("list_")
            && (200..300).contains(&got.status)
            && e.response.body.get("next_page_token").is_none()
            && got.body.get("next_page_token").is_some()
        {
            diffs.push(format!(
                "{label}: extra $.next_page_token (the emulator has more pages than the recording)"
            ));
        }
        if let Some(name) = got.body.get("name").and_then(Value::as_str)
            && name.contains("/operations/")
        {
            op_name = Some(name.to_string());
        }
        prev = Some(got);
        i += 1;
    }
    Ok(diffs)
}

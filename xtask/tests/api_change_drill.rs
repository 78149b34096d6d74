//! The API change drill: on a copy of the workspace, add two resource collections to the
//! spec, run `cargo xtask regenerate`, then compile and run a program that calls the new
//! typed calls. No line outside the spec is written by hand.
//!
//! * compute instances, under an endpoint, with a hyphenated collection word, read-only
//!   (get and list), called against a mock server that checks the exact requests;
//! * widgets, under a project, whose create and delete are long-running operations
//!   (`x-lakebase-operation`), called through the typed client against the emulator,
//!   which serves them from the same spec edit; `lakebase api` lists them too.
//!
//! The program is built in its own target directory (`target/api-drill`), so the first
//! run compiles the client's dependencies once; later runs are incremental.

use std::path::Path;
use std::process::Command;

/// What the drill adds under `paths:`.
const NEW_PATHS: &str = r#"  /api/2.0/postgres/projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}/compute-instances:
    get:
      operationId: list_compute_instances
      tags: [ComputeInstances]
      summary: List the compute instances of an endpoint, one page at a time.
      parameters:
      - {name: project_id, in: path, required: true, description: Project id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: branch_id, in: path, required: true, description: Branch id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: endpoint_id, in: path, required: true, description: Endpoint id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: page_size, in: query, required: false, description: Largest number of items in one page., schema: {type: integer, format: int32, minimum: 0}}
      - {name: page_token, in: query, required: false, description: '`next_page_token` of the previous page.', schema: {type: string}}
      responses:
        '200': {description: One page., content: {application/json: {schema: {$ref: '#/components/schemas/ListComputeInstancesResponse'}}}}
        4XX: {$ref: '#/components/responses/Error'}
        5XX: {$ref: '#/components/responses/Error'}
      x-lakebase-pagination: {items: compute_instances, item-schema: ComputeInstance}
  /api/2.0/postgres/projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}/compute-instances/{compute_instance_id}:
    get:
      operationId: get_compute_instance
      tags: [ComputeInstances]
      summary: Get a compute instance.
      parameters:
      - {name: project_id, in: path, required: true, description: Project id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: branch_id, in: path, required: true, description: Branch id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: endpoint_id, in: path, required: true, description: Endpoint id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: compute_instance_id, in: path, required: true, description: Compute instance id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      responses:
        '200': {description: The compute instance., content: {application/json: {schema: {$ref: '#/components/schemas/ComputeInstance'}}}}
        4XX: {$ref: '#/components/responses/Error'}
        5XX: {$ref: '#/components/responses/Error'}
  /api/2.0/postgres/projects/{project_id}/widgets:
    post:
      operationId: create_widget
      tags: [Widgets]
      summary: Create a widget.
      parameters:
      - {name: project_id, in: path, required: true, description: Project id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: widget_id, in: query, required: true, description: Id of the new widget., schema: {type: string}}
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/Widget'}}}}
      responses:
        '200': {description: The started operation., content: {application/json: {schema: {$ref: '#/components/schemas/Operation'}}}}
        4XX: {$ref: '#/components/responses/Error'}
        5XX: {$ref: '#/components/responses/Error'}
      x-lakebase-operation: {result-schema: Widget, metadata-schema: WidgetOperationMetadata}
    get:
      operationId: list_widgets
      tags: [Widgets]
      summary: List the widgets of a project, one page at a time.
      parameters:
      - {name: project_id, in: path, required: true, description: Project id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: page_size, in: query, required: false, description: Largest number of items in one page., schema: {type: integer, format: int32, minimum: 0}}
      - {name: page_token, in: query, required: false, description: '`next_page_token` of the previous page.', schema: {type: string}}
      responses:
        '200': {description: One page., content: {application/json: {schema: {$ref: '#/components/schemas/ListWidgetsResponse'}}}}
        4XX: {$ref: '#/components/responses/Error'}
        5XX: {$ref: '#/components/responses/Error'}
      x-lakebase-pagination: {items: widgets, item-schema: Widget}
  /api/2.0/postgres/projects/{project_id}/widgets/{widget_id}:
    get:
      operationId: get_widget
      tags: [Widgets]
      summary: Get a widget.
      parameters:
      - {name: project_id, in: path, required: true, description: Project id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: widget_id, in: path, required: true, description: Widget id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      responses:
        '200': {description: The widget., content: {application/json: {schema: {$ref: '#/components/schemas/Widget'}}}}
        4XX: {$ref: '#/components/responses/Error'}
        5XX: {$ref: '#/components/responses/Error'}
    delete:
      operationId: delete_widget
      tags: [Widgets]
      summary: Delete a widget.
      parameters:
      - {name: project_id, in: path, required: true, description: Project id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      - {name: widget_id, in: path, required: true, description: Widget id., schema: {type: string, pattern: '^[a-z][a-z0-9-]{0,62}$'}}
      responses:
        '200': {description: The started operation., content: {application/json: {schema: {$ref: '#/components/schemas/Operation'}}}}
        4XX: {$ref: '#/components/responses/Error'}
        5XX: {$ref: '#/components/responses/Error'}
      x-lakebase-operation: {result-schema: null, metadata-schema: WidgetOperationMetadata}
"#;

/// What the drill adds under `components: schemas:`.
const NEW_SCHEMAS: &str = r#"    ComputeInstance:
      type: object
      description: One compute instance serving an endpoint.
      properties:
        name: {type: string, description: Full resource name., x-lakebase-name-pattern: 'projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}/compute-instances/{compute_instance_id}'}
        state: {type: string, description: What the instance is doing.}
    ListComputeInstancesResponse:
      type: object
      description: One page of compute instances.
      properties:
        compute_instances: {type: array, items: {$ref: '#/components/schemas/ComputeInstance'}, description: The instances of this page.}
        next_page_token: {type: string, description: Token of the next page; absent on the last page.}
    Widget:
      type: object
      description: A widget of a project.
      properties:
        name: {type: string, description: Full resource name., x-lakebase-name-pattern: 'projects/{project_id}/widgets/{widget_id}'}
        color: {type: string, description: Its color.}
    WidgetOperationMetadata:
      type: object
      description: Progress information of an operation on a widget.
      properties: {}
    ListWidgetsResponse:
      type: object
      description: One page of widgets.
      properties:
        widgets: {type: array, items: {$ref: '#/components/schemas/Widget'}, description: The widgets of this page.}
        next_page_token: {type: string, description: Token of the next page; absent on the last page.}
"#;

/// The program the drill compiles: it only uses what regeneration produced.
const PROGRAM: &str = r##"
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use lakebase::{Client, ComputeInstanceName, Config, EndpointName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BASE: &str = "/api/2.0/postgres/projects/p/branches/b/endpoints/ep/compute-instances";

/// Answers one request line with a JSON body.
fn answer(line: &str) -> (u16, String) {
    let name = |id: &str| format!("projects/p/branches/b/endpoints/ep/compute-instances/{id}");
    let get = format!("GET {BASE}/ci-1 ");
    let first = format!("GET {BASE}?page_size=1 ");
    let second = format!("GET {BASE}?page_size=1&page_token=t2 ");
    if line.starts_with(&get) {
        (200, format!(r#"{{"name":"{}","state":"RUNNING","later_field":1}}"#, name("ci-1")))
    } else if line.starts_with(&first) {
        (200, format!(r#"{{"compute_instances":[{{"name":"{}"}}],"next_page_token":"t2"}}"#, name("ci-1")))
    } else if line.starts_with(&second) {
        (200, format!(r#"{{"compute_instances":[{{"name":"{}"}}]}}"#, name("ci-2")))
    } else {
        (404, r#"{"error_code":"NOT_FOUND","message":"no such route"}"#.to_string())
    }
}

async fn serve(listener: tokio::net::TcpListener, seen: Arc<Mutex<Vec<String>>>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let line = text.lines().next().unwrap_or_default().to_string();
        let (status, body) = answer(&line);
        seen.lock().unwrap().push(line);
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(response.as_bytes()).await;
    }
}

/// The long-running collection, through the typed client, against the emulator.
async fn widgets() -> Result<(), Box<dyn std::error::Error>> {
    use lakebase::{ProjectName, types};
    let emulator = lakebase_emulator::Emulator::builder()
        .op_latency(std::time::Duration::from_millis(20))
        .start()
        .await?;
    let client = Client::new(Config::builder().host(emulator.base_url()).token("drill-token").build()?)?;
    client.create_project("p", types::Project::default()).await?.wait().await?;
    let project = ProjectName::new("p")?;
    let op = client
        .create_widget(&project, "w-1", types::Widget { color: Some("blue".into()), ..Default::default() })
        .await?;
    let widget: types::Widget = op.wait().await?;
    assert_eq!(widget.name.as_deref(), Some("projects/p/widgets/w-1"));
    assert_eq!(widget.color.as_deref(), Some("blue"));
    let name = project.widget("w-1")?;
    assert_eq!(client.get_widget(&name).await?.color.as_deref(), Some("blue"));
    let listed: Vec<_> = client.list_widgets(&project).await?;
    assert_eq!(listed.len(), 1);
    let again = client.create_widget(&project, "w-1", types::Widget::default()).await;
    assert!(again.is_err_and(|e| e.is_already_exists()));
    let deleted: () = client.delete_widget(&name).await?.wait().await?;
    let _ = deleted;
    assert!(client.get_widget(&name).await.is_err_and(|e| e.is_not_found()));
    assert!(client.list_widgets(&project).await?.is_empty());
    assert_eq!(emulator.request_count("create_widget"), 2);
    assert_eq!(emulator.request_count("delete_widget"), 1);
    println!("widgets ok");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    widgets().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let host = format!("http://{}", listener.local_addr()?);
    let seen = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(serve(listener, seen.clone()));
    let client = Client::new(Config::builder().host(host).token("drill-token").build()?)?;

    let endpoint: EndpointName = "projects/p/branches/b/endpoints/ep".parse()?;
    let name: ComputeInstanceName = endpoint.compute_instance("ci-1")?;
    assert_eq!(name.endpoint(), endpoint);
    assert_eq!(name.compute_instance_id(), "ci-1");
    assert!(endpoint.compute_instance("Not_An_Id").is_err());

    let instance = client.get_compute_instance(&name).await?;
    assert_eq!(instance.name.as_deref(), Some(name.as_str()));
    assert_eq!(instance.state.as_deref(), Some("RUNNING"));

    let listed: Vec<_> = client.list_compute_instances(&endpoint).page_size(1).items().try_collect().await?;
    let names: Vec<_> = listed.iter().filter_map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[1].ends_with("/ci-2"));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            format!("GET {BASE}/ci-1 HTTP/1.1"),
            format!("GET {BASE}?page_size=1 HTTP/1.1"),
            format!("GET {BASE}?page_size=1&page_token=t2 HTTP/1.1"),
        ]
    );
    println!("drill ok: {} and {} instances", instance.name.unwrap_or_default(), listed.len());
    Ok(())
}
"##;

const PROGRAM_MANIFEST: &str = r#"[package]
name = "api-drill"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
lakebase = { workspace = true }
lakebase-emulator = { workspace = true }
futures = { workspace = true }
tokio = { workspace = true }
"#;

/// Copies a directory tree, leaving out build output and version control.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn insert_after(text: &str, anchor: &str, addition: &str) -> String {
    let at = text
        .find(anchor)
        .unwrap_or_else(|| panic!("the spec has no {anchor:?}"))
        + anchor.len();
    format!("{}{addition}{}", &text[..at], &text[at..])
}

#[test]
fn a_new_resource_in_the_spec_reaches_the_typed_client() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let root = copy.path();
    copy_tree(workspace, root);

    let spec_path = root.join("spec/postgres.openapi.yaml");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    let spec = insert_after(&spec, "\npaths:\n", NEW_PATHS);
    let spec = insert_after(&spec, "\n  schemas:\n", NEW_SCHEMAS);
    std::fs::write(&spec_path, spec).unwrap();

    let regenerate = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("regenerate")
        .env("XTASK_ROOT", root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&regenerate.stderr);
    assert!(regenerate.status.success(), "{stderr}");
    assert!(stderr.contains("wrote client-ext/src/generated/calls.rs"), "{stderr}");
    // The CLI's `lakebase api` table follows: one command per new operation.
    let cli_table = std::fs::read_to_string(root.join("cli/src/generated/api.rs")).unwrap();
    for command in [
        "list-compute-instances",
        "get-compute-instance",
        "create-widget",
        "list-widgets",
        "get-widget",
        "delete-widget",
    ] {
        assert!(
            cli_table.contains(&format!("command: \"{command}\"")),
            "no `lakebase api {command}`"
        );
    }
    assert!(cli_table.contains("s.parse::<lakebase::EndpointName>()"), "{cli_table}");

    std::fs::create_dir_all(root.join("drill/src")).unwrap();
    std::fs::write(root.join("drill/Cargo.toml"), PROGRAM_MANIFEST).unwrap();
    std::fs::write(root.join("drill/src/main.rs"), PROGRAM).unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest = manifest.replacen("members = [", "members = [\"drill\", ", 1);
    std::fs::write(root.join("Cargo.toml"), manifest).unwrap();

    let run = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["run", "--quiet", "--offline", "-p", "api-drill"])
        .env("CARGO_TARGET_DIR", workspace.join("target/api-drill"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the drill program failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("widgets ok"), "{stdout}");
    assert!(
        stdout.contains("drill ok: projects/p/branches/b/endpoints/ep/compute-instances/ci-1 and 2 instances"),
        "{stdout}"
    );
}

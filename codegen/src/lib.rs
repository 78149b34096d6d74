//! `lakebase-codegen` turns `spec/postgres.openapi.yaml` into the source files of the
//! `lakebase-generated` crate.
//!
//! The pipeline is a chain of small, separately tested steps:
//!
//! 1. [`load`]: parse the YAML into an [`openapiv3::OpenAPI`] and fingerprint it (sha256);
//! 2. [`lint`]: reject what the generator cannot represent faithfully, with a message
//!    naming the operation or schema;
//! 3. [`passes`]: rewrite the document into the form `progenitor` handles;
//! 4. `progenitor::Generator` produces the client and the types, with settings from
//!    [`settings`] (open enums, wire durations, a 60 s timeout);
//! 5. [`postprocess`]: edit the syntax tree where `progenitor` has no setting
//!    (the `api-version` header, verbatim path parameters);
//! 6. [`enums`] and [`required`] emit the code `progenitor` does not: open enums and
//!    required-field checks;
//!    [`surface`] emits the typed surface of the `lakebase` crate: resource-name types and
//!    one call per operation (`client-ext/src/generated/`), and the operation table of
//!    the `lakebase api` commands (`cli/src/generated/api.rs`);
//! 7. [`render`]: `prettyplease` prints each file behind a "do not edit" header.
//!
//! ```no_run
//! let spec = std::fs::read_to_string("spec/postgres.openapi.yaml").unwrap();
//! let files = lakebase_codegen::generate(&spec).unwrap();
//! for (path, text) in &files.files {
//!     println!("{path}: {} bytes", text.len());
//! }
//! ```

pub mod enums;
pub mod lint;
pub mod load;
pub mod passes;
pub mod postprocess;
pub mod render;
pub mod required;
pub mod settings;
pub mod surface;

use std::collections::BTreeMap;

/// Where the spec lives, relative to the workspace root.
pub const SPEC_PATH: &str = "spec/postgres.openapi.yaml";

/// Everything that can stop code generation.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The spec is not valid YAML or not an OpenAPI 3.0 document.
    #[error("cannot read the spec: {0}")]
    Parse(String),
    /// The spec uses something the generator cannot represent faithfully.
    #[error("the spec fails lint:\n{}", .0.join("\n"))]
    Lint(Vec<String>),
    /// progenitor rejected the (preprocessed) document.
    #[error("progenitor failed: {0}")]
    Progenitor(String),
    /// The generated tokens are not valid Rust (a bug in a pass).
    #[error("generated code does not parse: {0}")]
    Syntax(String),
}

/// The generated files, keyed by their path relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFiles {
    /// Path (e.g. `generated/src/client.rs`) to file contents.
    pub files: BTreeMap<String, String>,
}

/// Runs the whole pipeline on the text of the spec.
pub fn generate(spec_text: &str) -> Result<GeneratedFiles, CodegenError> {
    let loaded = load::load(spec_text)?;
    let problems = lint::lint(&loaded.document);
    if !problems.is_empty() {
        return Err(CodegenError::Lint(problems));
    }
    let facts = passes::SpecFacts::collect(&loaded.document);
    let surface = surface::Surface::read(&loaded.document, &facts).map_err(CodegenError::Lint)?;
    let calls = surface::calls::typed_calls(&surface).map_err(CodegenError::Lint)?;
    let cli_api = surface::cli::api_table(&surface).map_err(CodegenError::Lint)?;
    let mutations = surface::recovery::mutation_table(&surface).map_err(CodegenError::Lint)?;
    let document = passes::prepare_for_progenitor(loaded.document.clone());

    let mut generator = progenitor::Generator::new(&settings::generation_settings(&facts));
    let tokens = generator
        .generate_tokens(&document)
        .map_err(|e| CodegenError::Progenitor(e.to_string()))?;
    let mut client = syn::parse2::<syn::File>(tokens).map_err(|e| CodegenError::Syntax(e.to_string()))?;
    postprocess::apply(&mut client, &facts);

    let header = render::Header::new(&loaded.sha256);
    let mut files = BTreeMap::new();
    files.insert("generated/src/client.rs".to_string(), render::render(&header, &client));
    let enums = enums::open_enums(&facts.enums);
    files.insert(
        "generated/src/enums.rs".to_string(),
        render::render_tokens(&header, enums)?,
    );
    let required = required::required_field_checks(&facts);
    files.insert(
        "generated/src/required.rs".to_string(),
        render::render_tokens(&header, required)?,
    );
    let catalog = settings::operation_catalog(&facts, &surface);
    files.insert(
        "generated/src/catalog.rs".to_string(),
        render::render_tokens(&header, catalog)?,
    );
    files.insert(
        "client-ext/src/generated/names.rs".to_string(),
        render::render_tokens(&header, surface::names::name_types(&surface))?,
    );
    files.insert(
        "client-ext/src/generated/calls.rs".to_string(),
        render::render_tokens(&header, calls)?,
    );
    files.insert(
        surface::cli::CLI_API_PATH.to_string(),
        render::render_tokens(&header, cli_api)?,
    );
    files.insert(
        "client-ext/src/generated/mutations.rs".to_string(),
        render::render_tokens(&header, mutations)?,
    );
    Ok(GeneratedFiles { files })
}

/// Describes how the files on disk under `root` differ from `files`: one line per file
/// that is missing or different, with the first differing lines. Empty when they match.
pub fn drift(root: &std::path::Path, files: &GeneratedFiles) -> String {
    let mut report = String::new();
    for (path, expected) in &files.files {
        match std::fs::read_to_string(root.join(path)) {
            Err(_) => report.push_str(&format!("{path}: missing\n")),
            Ok(actual) if actual != *expected => {
                let (added, removed, first) = line_diff(&actual, expected);
                report.push_str(&format!(
                    "{path}: differs from what the spec generates ({removed} lines would go, {added} would come; first at line {first})\n"
                ));
            }
            Ok(_) => {}
        }
    }
    report
}

fn line_diff(actual: &str, expected: &str) -> (usize, usize, usize) {
    let a: Vec<&str> = actual.lines().collect();
    let e: Vec<&str> = expected.lines().collect();
    let first = a
        .iter()
        .zip(&e)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(e.len()))
        + 1;
    let a_set: std::collections::BTreeMap<&str, usize> = a.iter().fold(Default::default(), |mut m, l| {
        *m.entry(*l).or_default() += 1;
        m
    });
    let e_set: std::collections::BTreeMap<&str, usize> = e.iter().fold(Default::default(), |mut m, l| {
        *m.entry(*l).or_default() += 1;
        m
    });
    let count = |x: &std::collections::BTreeMap<&str, usize>, y: &std::collections::BTreeMap<&str, usize>| {
        x.iter()
            .map(|(l, n)| n.saturating_sub(*y.get(l).unwrap_or(&0)))
            .sum::<usize>()
    };
    (count(&e_set, &a_set), count(&a_set, &e_set), first)
}

//! Step 6c: the typed surface of the `lakebase` crate, read from the spec.
//!
//! Three files come out of here, all written into `client-ext/src/generated/`:
//!
//! * [`names`]: one resource-name type per schema whose `name` property carries
//!   `x-lakebase-name-pattern`, with id rules from the `pattern` of the path parameters
//!   and navigation between parents and children;
//! * [`calls`]: one call per operation on `lakebase::Client`, returning a request builder
//!   that implements `IntoFuture`; the return shape comes from `x-lakebase-operation`
//!   (an `Operation<R, M>`) and `x-lakebase-pagination` (a list builder);
//! * [`recovery`]: what each mutating operation changes (create with a caller-chosen or
//!   server-picked id, delete, masked update, undelete), for recovering lost responses.
//!
//! A fourth, [`cli`], is the operation table of the `lakebase api` commands
//! (`cli/src/generated/api.rs`).
//!
//! [`Surface::read`] resolves every operation against the resources first and reports
//! what does not fit the conventions of `spec/README.md`, naming the operation.

pub mod calls;
pub mod cli;
pub mod names;
pub mod recovery;

use std::collections::BTreeMap;

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};

use crate::passes::{ParamFact, ParamLocation, SpecFacts, operations};

/// One segment of a resource-name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A collection word such as `projects` or `compute-instances`.
    Literal(String),
    /// An id placeholder such as `project_id`.
    Id(String),
}

/// A resource: a schema whose `name` property has an `x-lakebase-name-pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Schema name, e.g. `Branch`.
    pub schema: String,
    /// The name pattern, e.g. `projects/{project_id}/branches/{branch_id}`.
    pub pattern: String,
    /// The pattern split at `/`.
    pub segments: Vec<Segment>,
}

impl Resource {
    /// The Rust type of its names, e.g. `BranchName`.
    pub fn type_name(&self) -> String {
        format!("{}Name", self.schema)
    }

    /// The snake-case word used for navigation methods, e.g. `branch`, `cdf_config`.
    pub fn method(&self) -> String {
        snake_case(&self.schema)
    }

    /// The id placeholder of the last segment (`None` for a singleton like `data-api`).
    pub fn own_id(&self) -> Option<&str> {
        match self.segments.last() {
            Some(Segment::Id(id)) => Some(id),
            _ => None,
        }
    }

    /// The id placeholders, in order.
    pub fn ids(&self) -> impl Iterator<Item = (usize, &str)> {
        self.segments.iter().enumerate().filter_map(|(i, s)| match s {
            Segment::Id(id) => Some((i, id.as_str())),
            Segment::Literal(_) => None,
        })
    }
}

/// How an operation's path relates to the resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// No path parameters, no collection (e.g. `POST /credentials`).
    None,
    /// A top-level collection (`/projects`) of the resource at this index.
    TopCollection(usize),
    /// The collection of `child` under the resource `parent` (indexes); also the create of
    /// a singleton `child` (a POST on its own path).
    Collection {
        /// Index of the parent resource.
        parent: usize,
        /// Index of the listed or created resource.
        child: usize,
    },
    /// One resource (get, update, delete), or a custom method on it (`.../undelete`).
    Resource(usize),
    /// A verbatim path parameter typed by a hand-written name type.
    Verbatim {
        /// The parameter.
        param: String,
        /// The hand-written type in `lakebase`, e.g. `OperationName`.
        type_name: String,
    },
}

/// An operation resolved against the resources.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation as read from the spec.
    pub op: crate::passes::OperationFact,
    /// What its path parameters address.
    pub target: Target,
}

/// Everything the surface generators need.
#[derive(Debug, Clone)]
pub struct Surface {
    /// Resources in schema-name order.
    pub resources: Vec<Resource>,
    /// Id placeholder to its `pattern`, read from the path parameters: the documented rule.
    pub id_patterns: BTreeMap<String, String>,
    /// Id placeholder to the rule the service was observed to apply where it differs from
    /// the documented one (`x-lakebase-observed-pattern` beside the `pattern`).
    pub observed_patterns: BTreeMap<String, String>,
    /// Operations in spec order, each with its target.
    pub calls: Vec<Call>,
    /// The path prefix shared by every operation, e.g. `/api/2.0/postgres`.
    pub base_path: String,
    /// Object schemas (for flattening request messages).
    pub schemas: BTreeMap<String, Schema>,
}

impl Surface {
    /// Reads the surface, or every problem found (one sentence each).
    pub fn read(document: &OpenAPI, facts: &SpecFacts) -> Result<Surface, Vec<String>> {
        let mut problems = Vec::new();
        let schemas: BTreeMap<String, Schema> = document
            .components
            .as_ref()
            .map(|c| {
                c.schemas
                    .iter()
                    .filter_map(|(n, s)| s.as_item().map(|s| (n.clone(), s.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let resources = read_resources(&schemas, &mut problems);
        let mut observed_patterns = BTreeMap::new();
        let id_patterns = read_id_patterns(document, &resources, &mut observed_patterns, &mut problems);
        let base_path = base_path(facts.operations.iter().map(|o| o.path.as_str()), &resources);
        let mut calls = Vec::new();
        for op in &facts.operations {
            match resolve(op, &resources, &base_path) {
                Ok(target) => calls.push(Call { op: op.clone(), target }),
                Err(why) => problems.push(format!("{}: {why}", op.id)),
            }
        }
        if problems.is_empty() {
            Ok(Surface {
                resources,
                id_patterns,
                observed_patterns,
                calls,
                base_path,
                schemas,
            })
        } else {
            Err(problems)
        }
    }

    /// The schema of the resource operation `op_id` addresses, lists or creates (`None`
    /// for an operation on no resource, such as `generate_database_credential`).
    pub fn resource_of(&self, op_id: &str) -> Option<&str> {
        let call = self.calls.iter().find(|c| c.op.id == op_id)?;
        let index = match &call.target {
            Target::TopCollection(i) | Target::Resource(i) => *i,
            Target::Collection { child, .. } => *child,
            Target::None | Target::Verbatim { .. } => return None,
        };
        self.resources.get(index).map(|r| r.schema.as_str())
    }

    /// The resource whose pattern is exactly `pattern`.
    pub fn resource_by_pattern(&self, pattern: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.pattern == pattern)
    }

    /// The resources whose pattern is `resource`'s followed by one or two segments.
    pub fn children(&self, resource: &Resource) -> impl Iterator<Item = &Resource> {
        self.resources
            .iter()
            .filter(move |c| parent_segments(c).is_some_and(|p| p == resource.segments.as_slice()))
    }

    /// The resources whose pattern is a proper prefix of `resource`'s, outermost first.
    pub fn ancestors(&self, resource: &Resource) -> Vec<&Resource> {
        let mut found: Vec<&Resource> = self
            .resources
            .iter()
            .filter(|a| a.segments.len() < resource.segments.len() && resource.segments.starts_with(&a.segments))
            .collect();
        found.sort_by_key(|a| a.segments.len());
        found
    }
}

/// The segments of a resource's parent collection owner: the pattern without its last
/// `word/{id}` pair (or its last singleton word).
pub fn parent_segments(resource: &Resource) -> Option<&[Segment]> {
    match resource.segments.as_slice() {
        [parent @ .., Segment::Literal(_), Segment::Id(_)] => Some(parent),
        [parent @ .., Segment::Literal(_)] => Some(parent),
        _ => None,
    }
    .filter(|p| !p.is_empty())
}

fn read_resources(schemas: &BTreeMap<String, Schema>, problems: &mut Vec<String>) -> Vec<Resource> {
    let mut resources = Vec::new();
    for (name, schema) in schemas {
        let SchemaKind::Type(Type::Object(o)) = &schema.schema_kind else {
            continue;
        };
        let Some(ReferenceOr::Item(prop)) = o.properties.get("name") else {
            continue;
        };
        let Some(pattern) = prop
            .schema_data
            .extensions
            .get("x-lakebase-name-pattern")
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        match parse_pattern(pattern) {
            Ok(segments) => resources.push(Resource {
                schema: name.clone(),
                pattern: pattern.to_string(),
                segments,
            }),
            Err(why) => problems.push(format!("schema {name}: name pattern {pattern:?}: {why}")),
        }
    }
    let mut seen = BTreeMap::new();
    for r in &resources {
        if let Some(other) = seen.insert(r.pattern.clone(), r.schema.clone()) {
            problems.push(format!(
                "schemas {other} and {} share the name pattern {}",
                r.schema, r.pattern
            ));
        }
    }
    resources
}

/// Splits a name pattern into segments: words `[a-z][a-z0-9_-]*` and `{x_id}` placeholders.
pub fn parse_pattern(pattern: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    for part in pattern.split('/') {
        if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if !inner.ends_with("_id") || !is_word(inner) {
                return Err(format!(
                    "placeholder {{{inner}}} must be a snake_case name ending in `_id`"
                ));
            }
            segments.push(Segment::Id(inner.to_string()));
        } else if is_word(part) {
            segments.push(Segment::Literal(part.to_string()));
        } else {
            return Err(format!(
                "segment {part:?} is neither a collection word nor one `{{x_id}}` placeholder"
            ));
        }
    }
    if !matches!(segments.first(), Some(Segment::Literal(_))) {
        return Err("must start with a collection word".to_string());
    }
    Ok(segments)
}

fn is_word(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The `pattern` of every path parameter that is a placeholder of some name pattern; the
/// same parameter must carry the same pattern everywhere, and every placeholder one.
/// The extension naming the rule the service applies to an id where it differs from the
/// documented `pattern`.
pub const OBSERVED_PATTERN: &str = "x-lakebase-observed-pattern";

fn read_id_patterns(
    document: &OpenAPI,
    resources: &[Resource],
    observed: &mut BTreeMap<String, String>,
    problems: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let placeholders: std::collections::BTreeSet<&str> =
        resources.iter().flat_map(|r| r.ids().map(|(_, id)| id)).collect();
    let mut patterns: BTreeMap<String, String> = BTreeMap::new();
    for (_, _, op) in operations(document) {
        for p in &op.parameters {
            let ReferenceOr::Item(openapiv3::Parameter::Path { parameter_data, .. }) = p else {
                continue;
            };
            if !placeholders.contains(parameter_data.name.as_str()) {
                continue;
            }
            let id = op.operation_id.as_deref().unwrap_or_default();
            let (pattern, observed_pattern) = match &parameter_data.format {
                openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(Schema {
                    schema_kind: SchemaKind::Type(Type::String(s)),
                    schema_data,
                })) => (
                    s.pattern.clone(),
                    schema_data
                        .extensions
                        .get(OBSERVED_PATTERN)
                        .map(|v| v.as_str().map(str::to_string).ok_or(v)),
                ),
                _ => (None, None),
            };
            match observed_pattern {
                Some(Ok(o)) => record_rule(OBSERVED_PATTERN, id, &parameter_data.name, o, observed, problems),
                Some(Err(_)) => problems.push(format!(
                    "{id}: {OBSERVED_PATTERN} of {} must be a string",
                    parameter_data.name
                )),
                None => {}
            }
            let Some(pattern) = pattern else {
                problems.push(format!("{id}: path parameter {} has no `pattern`", parameter_data.name));
                continue;
            };
            record_rule("pattern", id, &parameter_data.name, pattern, &mut patterns, problems);
        }
    }
    for id in placeholders {
        if !patterns.contains_key(id) {
            problems.push(format!(
                "placeholder {{{id}}} is no operation's path parameter, so it has no id rule"
            ));
        }
    }
    patterns
}

/// Checks one id rule (`what`: `pattern` or the observed pattern) of path parameter `param`
/// of operation `op`, anchored, compiling and the same on every operation, and records it.
fn record_rule(
    what: &str,
    op: &str,
    param: &str,
    pattern: String,
    rules: &mut BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    if !(pattern.starts_with('^') && pattern.ends_with('$')) {
        problems.push(format!("{op}: {what} of {param} must be anchored with ^ and $"));
    }
    if let Err(e) = regress::Regex::with_flags(&pattern, "u") {
        problems.push(format!("{op}: {what} of {param} does not compile: {e}"));
    }
    match rules.get(param) {
        Some(known) if *known != pattern => problems.push(format!(
            "{op}: path parameter {param} has {what} {pattern:?}, elsewhere {known:?}"
        )),
        Some(_) => {}
        None => {
            rules.insert(param.to_string(), pattern);
        }
    }
}

/// The path prefix in front of every name pattern: the common prefix of all paths, less
/// any trailing segment that starts a name pattern (when every operation is on one
/// collection).
fn base_path<'a>(paths: impl Iterator<Item = &'a str>, resources: &[Resource]) -> String {
    let mut base = common_prefix(paths);
    while let Some((head, last)) = base.rsplit_once('/') {
        let starts_a_pattern = resources
            .iter()
            .any(|r| matches!(r.segments.first(), Some(Segment::Literal(w)) if w == last));
        if !(starts_a_pattern || last.starts_with('{')) {
            break;
        }
        base = head.to_string();
    }
    base
}

/// The longest `/`-segment prefix shared by all paths (without a trailing `/`).
fn common_prefix<'a>(paths: impl Iterator<Item = &'a str>) -> String {
    let mut prefix: Option<Vec<&str>> = None;
    for path in paths {
        let segs: Vec<&str> = path.split('/').collect();
        prefix = Some(match prefix {
            None => segs[..segs.len().saturating_sub(1)].to_vec(),
            Some(p) => p
                .iter()
                .zip(&segs)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    prefix.unwrap_or_default().join("/")
}

fn resolve(op: &crate::passes::OperationFact, resources: &[Resource], base: &str) -> Result<Target, String> {
    let rel = op
        .path
        .strip_prefix(base)
        .and_then(|p| p.strip_prefix('/'))
        .ok_or("path outside the common prefix")?;
    let path_params: Vec<&ParamFact> = op.params.iter().filter(|p| p.location == ParamLocation::Path).collect();
    if let [p] = path_params.as_slice()
        && p.verbatim
    {
        let type_name = p
            .name_type
            .clone()
            .ok_or("a verbatim path parameter needs `x-lakebase-name-type` (a hand-written name type)")?;
        return Ok(Target::Verbatim {
            param: p.name.clone(),
            type_name,
        });
    }
    // A custom method written AIP-style, `.../{branch_id}:restore`, acts on that resource.
    if let Some((resource_path, verb)) = rel.rsplit_once(':')
        && is_word(verb)
    {
        let segments = parse_pattern(resource_path).map_err(|e| format!("path {rel:?}: {e}"))?;
        return resources
            .iter()
            .position(|r| r.segments == segments)
            .map(Target::Resource)
            .ok_or_else(|| format!("custom method {verb:?} on {resource_path:?}, which is no resource's pattern"));
    }
    let segments = parse_pattern(rel).map_err(|e| format!("path {rel:?}: {e}"))?;
    let find = |segs: &[Segment]| resources.iter().position(|r| r.segments == segs);
    if let Some(i) = find(&segments) {
        // A singleton is created by a POST on its own path, under its parent.
        let owner = &segments[..segments.len() - 1];
        return Ok(match (resources[i].own_id(), op.method.as_str(), find(owner)) {
            (None, "POST", Some(parent)) => Target::Collection { parent, child: i },
            _ => Target::Resource(i),
        });
    }
    let Some((Segment::Literal(word), owner)) = segments.split_last() else {
        return Err(format!("path {rel:?} ends with a placeholder that names no resource"));
    };
    let mut child_segments = segments.clone();
    child_segments.push(Segment::Id(String::new()));
    let child = resources.iter().position(|r| {
        r.segments.len() == child_segments.len()
            && r.segments.starts_with(&segments)
            && matches!(r.segments.last(), Some(Segment::Id(_)))
    });
    match (child, owner.is_empty()) {
        (Some(child), true) => Ok(Target::TopCollection(child)),
        (Some(child), false) => {
            let parent = find(owner).ok_or_else(|| format!("the owner of collection {word:?} is no resource"))?;
            Ok(Target::Collection { parent, child })
        }
        (None, true) => Ok(Target::None),
        (None, false) => find(owner)
            .map(Target::Resource)
            .ok_or_else(|| format!("path {rel:?} matches no resource name pattern")),
    }
}

/// `CdfConfig` -> `cdf_config`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `cdf_config_id` -> `CdfConfigId`.
pub fn pascal_case(name: &str) -> String {
    name.split(['_', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_split_into_words_and_ids() {
        assert_eq!(
            parse_pattern("projects/{project_id}/compute-instances/{compute_instance_id}").unwrap(),
            vec![
                Segment::Literal("projects".into()),
                Segment::Id("project_id".into()),
                Segment::Literal("compute-instances".into()),
                Segment::Id("compute_instance_id".into()),
            ]
        );
        assert!(parse_pattern("synced_tables/{catalog}.{schema}").is_err());
        assert!(parse_pattern("projects/{project}").is_err());
        assert!(parse_pattern("{project_id}").is_err());
    }

    /// A resource with an AIP-style custom method whose request has a required scalar.
    const CUSTOM_METHOD: &str = r##"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /api/things/{thing_id}:
    get:
      operationId: get_thing
      summary: Get a thing.
      tags: [Things]
      parameters:
      - {name: thing_id, in: path, required: true, description: d, schema: {type: string, pattern: '^[a-z]+$'}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
  /api/things/{thing_id}:restore:
    post:
      operationId: restore_thing
      summary: Restore a thing.
      tags: [Things]
      parameters:
      - {name: thing_id, in: path, required: true, description: d, schema: {type: string, pattern: '^[a-z]+$'}}
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/RestoreThingRequest'}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}
components:
  schemas:
    Thing:
      type: object
      description: A thing.
      properties:
        name: {type: string, description: n, x-lakebase-name-pattern: 'things/{thing_id}'}
    RestoreThingRequest:
      type: object
      description: r
      required: [reason]
      properties:
        reason: {type: string, description: Why.}
"##;

    #[test]
    fn custom_methods_and_required_request_scalars() {
        let document: OpenAPI = serde_yaml::from_str(CUSTOM_METHOD).unwrap();
        let facts = SpecFacts::collect(&document);
        let surface = Surface::read(&document, &facts).unwrap();
        assert_eq!(surface.calls[1].target, Target::Resource(0));
        let code = calls::typed_calls(&surface).unwrap().to_string();
        assert!(
            code.contains("pub fn restore_thing (& self , name : & ThingName , reason : impl Into < String >)"),
            "{code}"
        );
        let names = names::name_types(&surface).to_string();
        assert!(names.contains("pub fn new (thing_id : & str)"), "{names}");
    }

    #[test]
    fn case_conversions() {
        assert_eq!(snake_case("CdfConfig"), "cdf_config");
        assert_eq!(pascal_case("cdf_config_id"), "CdfConfigId");
        assert_eq!(common_prefix(["/a/b/c", "/a/b/d/{x}"].into_iter()), "/a/b");
    }
}

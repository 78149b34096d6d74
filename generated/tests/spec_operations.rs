//! The spec has exactly the 52 operations of the official SDK, with the same method
//! names, HTTP methods and path shapes (`sdk_methods.txt`, derived from the reference).

use std::collections::BTreeMap;

const SPEC: &str = include_str!("../../spec/postgres.openapi.yaml");
const SDK_METHODS: &str = include_str!("sdk_methods.txt");

/// Path shape: every `{placeholder}` becomes `{}`, so `{project}` and `{project_id}`
/// compare equal, and the synced-table id `{catalog}.{schema}.{table}` is one segment.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.replace("{}.{}.{}", "{}")
}

fn spec_operations() -> BTreeMap<String, (String, String)> {
    let spec: openapiv3::OpenAPI = serde_yaml::from_str(SPEC).expect("spec parses");
    let mut ops = BTreeMap::new();
    for (path, item) in &spec.paths.paths {
        let item = item.as_item().expect("no path refs");
        for (method, op) in item.iter() {
            let id = op.operation_id.clone().expect("operationId");
            assert!(
                ops.insert(id.clone(), (method.to_uppercase(), path.clone())).is_none(),
                "{id} twice"
            );
        }
    }
    ops
}

#[test]
fn every_sdk_method_is_an_operation_with_the_same_shape() {
    let ops = spec_operations();
    let mut expected = 0;
    for line in SDK_METHODS.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let mut parts = line.split_whitespace();
        let (name, method, path) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        expected += 1;
        let (spec_method, spec_path) = ops
            .get(name)
            .unwrap_or_else(|| panic!("the spec has no operation {name}"));
        assert_eq!(spec_method, method, "{name}: HTTP method");
        assert_eq!(shape(spec_path), shape(path), "{name}: path shape");
    }
    assert_eq!(expected, 52);
    assert_eq!(
        ops.len(),
        52,
        "the spec has operations the SDK does not: {:?}",
        ops.keys()
    );
}

#[test]
fn the_generated_catalog_matches_the_spec() {
    let ops = spec_operations();
    assert_eq!(lakebase_generated::OPERATIONS.len(), ops.len());
    for op in lakebase_generated::OPERATIONS {
        let (method, path) = &ops[op.id];
        assert_eq!((op.method, op.path), (method.as_str(), path.as_str()));
    }
}

#[test]
fn path_shape_folds_placeholders() {
    assert_eq!(shape("/a/{parent}/b"), "/a/{}/b");
    assert_eq!(shape("/synced_tables/{catalog}.{schema}.{table}"), "/synced_tables/{}");
}

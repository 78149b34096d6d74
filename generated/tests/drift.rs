//! `generated/` is exactly what the spec generates (the same check as
//! `cargo xtask check`, so a plain `cargo test` catches drift too).

use std::path::Path;

#[test]
fn generated_code_matches_the_spec() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let spec = std::fs::read_to_string(root.join(lakebase_codegen::SPEC_PATH)).unwrap();
    let files = lakebase_codegen::generate(&spec).unwrap();
    let drift = lakebase_codegen::drift(root, &files);
    assert!(drift.is_empty(), "{drift}\nrun `cargo xtask regenerate`");
}

#[test]
fn generation_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let spec = std::fs::read_to_string(root.join(lakebase_codegen::SPEC_PATH)).unwrap();
    assert_eq!(
        lakebase_codegen::generate(&spec).unwrap(),
        lakebase_codegen::generate(&spec).unwrap()
    );
}

#[test]
fn open_enums_round_trip_unknown_values() {
    use lakebase_generated::enums::EndpointType;
    let known: EndpointType = serde_json::from_str("\"ENDPOINT_TYPE_READ_ONLY\"").unwrap();
    assert_eq!(known, EndpointType::ReadOnly);
    let unknown: EndpointType = serde_json::from_str("\"ENDPOINT_TYPE_UNSPECIFIED\"").unwrap();
    assert_eq!(unknown, EndpointType::Unknown("ENDPOINT_TYPE_UNSPECIFIED".into()));
    assert_eq!(
        serde_json::to_string(&unknown).unwrap(),
        "\"ENDPOINT_TYPE_UNSPECIFIED\""
    );
    assert_eq!(unknown.as_str(), "ENDPOINT_TYPE_UNSPECIFIED");
}

#[test]
fn required_fields_are_checked_below_the_top() {
    use lakebase_generated::RequiredFields;
    use lakebase_generated::types::{Endpoint, EndpointGroupSpec, EndpointSpec};
    let endpoint = Endpoint {
        spec: Some(EndpointSpec {
            group: Some(EndpointGroupSpec {
                min: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        endpoint.missing_required_fields(),
        vec!["spec.endpoint_type", "spec.group.max"]
    );
    assert_eq!(
        Endpoint::default().missing_required_fields(),
        vec!["spec.endpoint_type"],
        "an absent spec misses its required fields"
    );
    let ok = Endpoint {
        spec: Some(EndpointSpec {
            endpoint_type: Some("ENDPOINT_TYPE_READ_ONLY".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(ok.missing_required_fields().is_empty());
}

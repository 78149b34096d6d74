//! What databricks-sdk-py 0.162.0 knows: its messages (fields and their types), enum
//! values and method parameters, from `conformance/sdk-0.162.0-schema.json` (trimmed
//! from the shared SDK facts by `conformance/trim_sdk_schema.py`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The SDK's view of the API.
#[derive(Debug, Deserialize)]
pub struct SdkSchema {
    /// SDK version.
    pub sdk: String,
    /// Message name → JSON field name → field.
    pub messages: BTreeMap<String, BTreeMap<String, SdkField>>,
    /// Enum name → known wire values.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Python method name → method.
    pub methods: BTreeMap<String, SdkMethod>,
}

/// One field of an SDK message.
#[derive(Debug, Deserialize)]
pub struct SdkField {
    /// `string`, `bool`, `int32`, `int64`, `double`, `timestamp`, `duration`, `enum`,
    /// `message`, `map`, `object`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it is a list.
    pub repeated: bool,
    /// The message type, for `message` fields.
    #[serde(default)]
    pub message: Option<String>,
    /// The enum type, for `enum` fields.
    #[serde(default)]
    pub r#enum: Option<String>,
}

/// One method of `PostgresAPI`.
#[derive(Debug, Deserialize)]
pub struct SdkMethod {
    /// Keyword parameters.
    pub params: Vec<SdkParam>,
    /// What it returns (`kind`: `lro`, `message`, `paginated`).
    pub returns: SdkReturns,
}

/// One parameter of a method.
#[derive(Debug, Deserialize)]
pub struct SdkParam {
    /// Python keyword.
    pub name: String,
    /// Wire type (`string`, `bool`, `int32`, `message`, `field_mask`, `timestamp`, `duration`).
    #[serde(rename = "type")]
    pub ty: String,
    /// `path`, `query`, `body`, `body_field`.
    #[serde(rename = "in")]
    pub location: String,
    /// Whether the Python signature requires it.
    pub required: bool,
    /// Whether it is a list.
    pub repeated: bool,
    /// Message type of message parameters.
    #[serde(default)]
    pub message: Option<String>,
}

/// What a method returns.
#[derive(Debug, Deserialize)]
pub struct SdkReturns {
    /// `lro`, `message` or `paginated`.
    pub kind: String,
    /// The message, for `message`.
    #[serde(default)]
    pub message: Option<String>,
    /// The item message, for `paginated`.
    #[serde(default)]
    pub item: Option<String>,
    /// What `wait()` returns, for `lro` (`None` for deletes and undeletes).
    #[serde(default)]
    pub wait_result: Option<String>,
}

/// The schema, parsed once.
pub fn sdk() -> &'static SdkSchema {
    static SCHEMA: OnceLock<SdkSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(include_str!("../conformance/sdk-0.162.0-schema.json")).expect("valid SDK schema file")
    })
}

impl SdkSchema {
    /// Whether `value` is a value of enum `name` the SDK knows.
    pub fn knows_enum_value(&self, name: &str, value: &str) -> bool {
        self.enums
            .get(name)
            .is_some_and(|values| values.iter().any(|v| v == value))
    }

    /// The message the SDK renders as the result of `method` (`None`: `null`, e.g. a waited
    /// delete). Lists give their item message.
    pub fn result_message(&self, method: &str, wait: bool) -> Option<&str> {
        let m = self.methods.get(method)?;
        match m.returns.kind.as_str() {
            "lro" if wait => m.returns.wait_result.as_deref(),
            "lro" => Some("Operation"),
            "paginated" => m.returns.item.as_deref(),
            _ => m.returns.message.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_loads() {
        let s = sdk();
        assert_eq!(s.sdk, "0.162.0");
        assert_eq!(s.methods.len(), 52);
        assert!(s.knows_enum_value("EndpointType", "ENDPOINT_TYPE_READ_ONLY"));
        assert!(!s.knows_enum_value("EndpointType", "ENDPOINT_TYPE_UNSPECIFIED"));
        assert_eq!(s.result_message("create_branch", true), Some("Branch"));
        assert_eq!(s.result_message("delete_branch", true), None);
        assert_eq!(s.result_message("delete_branch", false), Some("Operation"));
        assert_eq!(s.result_message("list_roles", false), Some("Role"));
    }
}

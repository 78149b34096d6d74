//! The pieces every workload login shares: a [`Token`] with its expiry, a [`TokenSource`] that
//! fetches one, a [`Refreshing`] holder that caches it and refreshes it ahead of expiry with one
//! request however many callers wait, and the OAuth token request itself.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::BoxFuture;
use crate::error::{AuthError, Error};
use crate::secret::Secret;

/// Tokens are refreshed this long before they expire (like the official SDKs' stale window).
pub const EXPIRY_LEEWAY: Duration = Duration::from_secs(40);

/// An access token and when it expires.
#[derive(Clone)]
pub struct Token {
    /// The token itself.
    pub access_token: Secret,
    /// `Bearer` unless the server said otherwise.
    pub token_type: String,
    /// `None`: no lifetime was given; kept until the process ends.
    pub expires_at: Option<Instant>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Token {
    fn is_fresh(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now + EXPIRY_LEEWAY < at)
    }

    /// `{token_type} {access_token}`, as a sensitive header value.
    pub fn header(&self) -> Result<http::HeaderValue, Error> {
        super::sensitive_header(&format!("{} {}", self.token_type, self.access_token.expose()))
    }
}

/// Fetches a new token each time it is asked.
pub trait TokenSource: Send + Sync {
    /// A new token.
    fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>>;
}

/// Caches the token of a source; a stale token is replaced by one fetch, which every concurrent
/// caller waits for (a `tokio` mutex is held while refreshing).
pub struct Refreshing {
    source: Box<dyn TokenSource>,
    cached: tokio::sync::Mutex<Option<Token>>,
}

impl fmt::Debug for Refreshing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refreshing").finish_non_exhaustive()
    }
}

impl Refreshing {
    /// A holder of `source`'s tokens.
    pub fn new(source: impl TokenSource + 'static) -> Self {
        Self {
            source: Box::new(source),
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The cached token, or a fresh one when it is missing or expires within [`EXPIRY_LEEWAY`].
    pub async fn token(&self) -> Result<Token, Error> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(t.clone());
        }
        let token = self.source.fetch().await?;
        *cached = Some(token.clone());
        Ok(token)
    }
}

/// An authentication error (never quoting a secret).
pub fn auth_error(message: impl Into<String>, status: Option<u16>) -> Error {
    Error::Auth(AuthError {
        message: message.into(),
        status,
    })
}

/// An HTTP client for identity providers: the given timeout, no redirects.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    crate::tls::http_client_builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client of the identity provider: {e}")))
}

/// The message of an OAuth (or Entra, Google, Databricks) error body; never a success body.
pub fn error_message(body: &[u8], status: reqwest::StatusCode) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let code = field("error")
        .or_else(|| field("errorCode"))
        .or_else(|| field("error_code"));
    let desc = field("error_description")
        .or_else(|| field("errorSummary"))
        .or_else(|| field("message"));
    match (code, desc) {
        (Some(c), Some(d)) => format!("{c}: {}", d.replace("\r\n", " ")),
        (None, Some(d)) => d,
        (Some(c), None) => c,
        (None, None) => format!("HTTP {status}"),
    }
}

/// Sends `request`; the body of a 2xx answer, else an [`Error::Auth`] naming `what`.
pub async fn send(request: reqwest::RequestBuilder, what: &str) -> Result<Vec<u8>, Error> {
    let resp = request
        .send()
        .await
        .map_err(|e| auth_error(format!("{what} failed: {}", e.without_url()), None))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| {
        auth_error(
            format!("reading the answer of {what} failed: {}", e.without_url()),
            None,
        )
    })?;
    if !status.is_success() {
        return Err(auth_error(
            format!("{what} failed: {}", error_message(&body, status)),
            Some(status.as_u16()),
        ));
    }
    Ok(body.to_vec())
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    expires_on: Option<serde_json::Value>,
}

/// A number or a numeric string.
pub fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `Instant` of a Unix time in seconds.
pub fn instant_of_unix(secs: f64) -> Instant {
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let left = Duration::try_from_secs_f64((secs - now_unix).max(0.0)).unwrap_or_default();
    Instant::now() + left
}

/// Parses an OAuth token answer (`access_token`, `token_type`, `expires_in`, or Azure's
/// absolute `expires_on`); the body is never quoted in errors.
pub fn parse_token(body: &[u8], requested_at: Instant, what: &str) -> Result<Token, Error> {
    let t: TokenResponse = serde_json::from_slice(body)
        .map_err(|_| auth_error(format!("the answer of {what} is not the expected JSON"), None))?;
    let access = t
        .access_token
        .filter(|a| !a.is_empty())
        .ok_or_else(|| auth_error(format!("the answer of {what} has no access_token"), None))?;
    let expires_at = match (
        t.expires_in.as_ref().and_then(number),
        t.expires_on.as_ref().and_then(number),
    ) {
        (Some(secs), _) => Some(requested_at + Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or_default()),
        (None, Some(unix)) => Some(instant_of_unix(unix)),
        (None, None) => None,
    };
    Ok(Token {
        access_token: Secret::from(access),
        token_type: t
            .token_type
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Bearer".to_owned()),
        expires_at,
    })
}

/// POSTs an OAuth form to `url` and parses the token answer.
pub async fn post_form(http: &reqwest::Client, url: &str, form: &[(&str, &str)], what: &str) -> Result<Token, Error> {
    let requested_at = Instant::now();
    let body = send(http.post(url).header("Accept", "application/json").form(form), what).await?;
    parse_token(&body, requested_at, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting(Arc<AtomicU32>, u64);

    impl TokenSource for Counting {
        fn fetch(&self) -> BoxFuture<'_, Result<Token, Error>> {
            Box::pin(async move {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(Token {
                    access_token: Secret::from(format!("t{n}")),
                    token_type: "Bearer".into(),
                    expires_at: Some(Instant::now() + Duration::from_secs(self.1)),
                })
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_refresh_for_many_callers_and_ahead_of_expiry() {
        let calls = Arc::new(AtomicU32::new(0));
        let holder = Arc::new(Refreshing::new(Counting(calls.clone(), 3600)));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let h = holder.clone();
                tokio::spawn(async move { h.token().await.unwrap().access_token.expose().to_owned() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), "t0");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // 30 s left is inside the 40 s leeway: refreshed before it expires
        let calls = Arc::new(AtomicU32::new(0));
        let holder = Refreshing::new(Counting(calls.clone(), 30));
        assert_eq!(holder.token().await.unwrap().access_token.expose(), "t0");
        assert_eq!(holder.token().await.unwrap().access_token.expose(), "t1");
    }

    #[test]
    fn token_answers() {
        let now = Instant::now();
        let t = parse_token(br#"{"access_token":"a","expires_in":"120"}"#, now, "x").unwrap();
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.expires_at, Some(now + Duration::from_secs(120)));
        let t = parse_token(
            br#"{"access_token":"a","token_type":"Bearer","expires_on":"4102444800"}"#,
            now,
            "x",
        )
        .unwrap();
        assert!(t.expires_at.unwrap() > now + Duration::from_secs(3600));
        let e = parse_token(br#"{"access_token":"leak""#, now, "x").unwrap_err();
        assert!(!e.to_string().contains("leak"));
        let t = parse_token(br#"{"access_token":"secret-access-value"}"#, now, "x").unwrap();
        assert_eq!(t.expires_at, None);
        assert!(!format!("{t:?}").contains("secret-access-value"));
        assert_eq!(
            error_message(
                br#"{"error":"invalid_grant","error_description":"bad\r\nthing"}"#,
                reqwest::StatusCode::BAD_REQUEST
            ),
            "invalid_grant: bad thing"
        );
    }
}

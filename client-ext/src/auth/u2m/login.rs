//! The browser login: authorization code with PKCE (RFC 6749 §4.1, RFC 7636 S256).
//!
//! 1. Listen on `localhost:{port}` (IPv4 and, when available, IPv6 loopback) first, so the
//!    redirect can never arrive before the listener.
//! 2. Send the browser to the authorization endpoint with `response_type=code`, `client_id`,
//!    `redirect_uri=http://localhost:{port}`, `scope`, a random `state`, and the S256
//!    challenge of a random verifier. The URL is always printed (stderr) for machines without
//!    a browser; the browser is `$BROWSER` when set, as Python's `webbrowser` reads it (a
//!    `:`-separated list of commands, `%s` replaced by the URL, else the URL appended).
//! 3. Wait for the redirect (at most the timeout; the port is freed either way), check
//!    `state`, answer a small "you may close this tab" page, and exchange the code.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::auth::Token;
use crate::auth::oidc::{self, ClientAuth, OidcEndpoints, auth_error};
use crate::error::Error;
use crate::secret::Secret;

/// The redirect port of the official SDKs and CLI.
pub const DEFAULT_REDIRECT_PORT: u16 = 8020;
/// How long a browser login may take by default.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// How the browser login runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoginOptions {
    /// Port of the `http://localhost:{port}` redirect (default 8020).
    pub redirect_port: u16,
    /// How long to wait for the redirect (default 5 minutes).
    pub timeout: Duration,
    /// `$BROWSER`: commands to open the URL with (`None`: the platform's opener).
    pub browser: Option<String>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            redirect_port: DEFAULT_REDIRECT_PORT,
            timeout: DEFAULT_LOGIN_TIMEOUT,
            browser: None,
        }
    }
}

impl LoginOptions {
    /// With a redirect port.
    pub fn with_redirect_port(mut self, port: u16) -> Self {
        self.redirect_port = port;
        self
    }

    /// With a timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With `$BROWSER`.
    pub fn with_browser(mut self, browser: Option<String>) -> Self {
        self.browser = browser;
        self
    }
}

/// The client that logs in.
#[derive(Clone, Debug)]
pub struct LoginClient<'a> {
    /// OAuth client id (`databricks-cli` by default).
    pub client_id: &'a str,
    /// Client secret of a confidential custom app, if any.
    pub client_secret: Option<&'a Secret>,
    /// Scopes asked for.
    pub scopes: &'a [String],
}

fn random_b64(bytes: usize) -> String {
    let v: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(v)
}

/// A PKCE verifier (43 characters of base64url, 256 bits) and its S256 challenge.
pub fn pkce_pair() -> (Secret, String) {
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (Secret::from(verifier), challenge)
}

/// Opens `url` with `$BROWSER` (see the [module docs](self)) or the platform opener;
/// whether a program could be started. Programs are reaped in the background.
pub fn open_browser(url: &str, browser: Option<&str>) -> bool {
    let mut commands: Vec<Vec<String>> = Vec::new();
    if let Some(list) = browser {
        for cmd in list.split(':').map(str::trim).filter(|c| !c.is_empty()) {
            if cmd.contains("%s") {
                commands.push(cmd.split_whitespace().map(|a| a.replace("%s", url)).collect());
            } else {
                commands.push(vec![cmd.to_owned(), url.to_owned()]);
            }
        }
    } else if cfg!(target_os = "macos") {
        commands.push(vec!["open".into(), url.into()]);
    } else if cfg!(windows) {
        commands.push(vec![
            "rundll32".into(),
            "url.dll,FileProtocolHandler".into(),
            url.into(),
        ]);
    } else {
        commands.push(vec!["xdg-open".into(), url.into()]);
    }
    for argv in commands {
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        let child = tokio::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
            return true;
        }
    }
    false
}

/// The page the browser shows after the redirect.
fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{message}</p></body></html>"
    )
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The query of the request line `GET /path?query HTTP/1.1`.
fn request_query(head: &str) -> Option<Vec<(String, String)>> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    if method != "GET" {
        return None;
    }
    let url = url::Url::parse(&format!("http://localhost{target}")).ok()?;
    Some(
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

enum Callback {
    Code(Secret),
    Failed(String),
}

/// Handles one connection; `None`: not the redirect (e.g. `/favicon.ico`), keep waiting.
async fn handle(mut stream: TcpStream, state: &str) -> Option<Callback> {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    let read = async {
        while len < buf.len() {
            match stream.read(&mut buf[len..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    len += n;
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), read).await.is_err() {
        return None;
    }
    let head = String::from_utf8_lossy(&buf[..len]).into_owned();
    let Some(query) = request_query(&head) else {
        respond(
            &mut stream,
            "400 Bad Request",
            &page("Bad request", "Expected the OAuth redirect."),
        )
        .await;
        return None;
    };
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("code").is_none() && get("error").is_none() {
        respond(
            &mut stream,
            "404 Not Found",
            &page("Not found", "Waiting for the OAuth redirect."),
        )
        .await;
        return None;
    }
    if get("state") != Some(state) {
        respond(
            &mut stream,
            "400 Bad Request",
            &page("Login failed", "The state of the redirect does not match this login."),
        )
        .await;
        return Some(Callback::Failed(
            "the redirect's state does not match the login's (a stale or forged redirect)".to_owned(),
        ));
    }
    if let Some(err) = get("error") {
        let desc = get("error_description").unwrap_or("");
        let message = if desc.is_empty() {
            err.to_owned()
        } else {
            format!("{err}: {desc}")
        };
        respond(
            &mut stream,
            "400 Bad Request",
            &page("Login failed", &html_escape(&message)),
        )
        .await;
        return Some(Callback::Failed(format!(
            "the authorization server refused the login: {message}"
        )));
    }
    let code = get("code").unwrap_or_default().to_owned();
    respond(
        &mut stream,
        "200 OK",
        &page("Logged in", "You are logged in to lakebase. You may close this tab."),
    )
    .await;
    Some(Callback::Code(Secret::from(code)))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn accept_one(listeners: &[TcpListener]) -> std::io::Result<TcpStream> {
    match listeners {
        [one] => one.accept().await.map(|(s, _)| s),
        [a, b, ..] => tokio::select! {
            r = a.accept() => r.map(|(s, _)| s),
            r = b.accept() => r.map(|(s, _)| s),
        },
        [] => Err(std::io::Error::other("no listener")),
    }
}

/// Runs the browser login against `endpoints` and exchanges the code for a token.
///
/// # Errors
/// [`Error::Auth`] when the port is taken, the login is refused, not finished within
/// `options.timeout` (the port is free again when this returns), or the exchange fails.
pub async fn login(
    http: &reqwest::Client,
    endpoints: &OidcEndpoints,
    client: &LoginClient<'_>,
    options: &LoginOptions,
) -> Result<Token, Error> {
    let authorize = endpoints.authorization_endpoint.as_deref().ok_or_else(|| {
        auth_error(
            "the workspace's OAuth discovery lists no authorization_endpoint".to_owned(),
            None,
        )
    })?;
    let port = options.redirect_port;
    let v4 = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        auth_error(
            format!("cannot listen on localhost:{port} for the OAuth redirect: {e} (choose another port with --redirect-port or LAKEBASE_OAUTH_REDIRECT_PORT)"),
            None,
        )
    })?;
    let mut listeners = vec![v4];
    if let Ok(v6) = TcpListener::bind(("::1", port)).await {
        listeners.push(v6);
    }
    let redirect_uri = format!("http://localhost:{port}");
    let (verifier, challenge) = pkce_pair();
    let state = random_b64(16);
    let mut url = url::Url::parse(authorize)
        .map_err(|_| auth_error(format!("authorization_endpoint {authorize:?} is not a URL"), None))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &client.scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    eprintln!("Log in with your browser; if it does not open, visit this URL:\n\n  {url}\n");
    if !open_browser(url.as_str(), options.browser.as_deref()) {
        eprintln!("(no browser could be started)");
    }
    let wait = async {
        loop {
            let stream = accept_one(&listeners)
                .await
                .map_err(|e| auth_error(format!("waiting for the OAuth redirect failed: {e}"), None))?;
            if let Some(cb) = handle(stream, &state).await {
                return Ok::<Callback, Error>(cb);
            }
        }
    };
    let callback = tokio::time::timeout(options.timeout, wait).await;
    drop(listeners); // the port is free from here on, whatever happened
    let code = match callback {
        Err(_) => {
            return Err(auth_error(
                format!(
                    "the browser login was not finished within {}s; port {port} is free again. Run the login again",
                    options.timeout.as_secs()
                ),
                None,
            ));
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Callback::Failed(why))) => return Err(auth_error(why, None)),
        Ok(Ok(Callback::Code(code))) => code,
    };
    let auth = match client.client_secret {
        Some(secret) => ClientAuth::Basic(client.client_id, secret),
        None => ClientAuth::Public(client.client_id),
    };
    oidc::request_token(
        http,
        &endpoints.token_endpoint,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", verifier.expose()),
        ],
    )
    .await
    .map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_s256_of_a_43_char_verifier() {
        let (v, c) = pkce_pair();
        assert_eq!(v.expose().len(), 43);
        assert_eq!(c, URL_SAFE_NO_PAD.encode(Sha256::digest(v.expose().as_bytes())));
        assert_ne!(pkce_pair().1, c);
    }

    #[test]
    fn parses_the_redirect_request() {
        let q = request_query("GET /?code=abc&state=x%20y HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        assert_eq!(q, vec![("code".into(), "abc".into()), ("state".into(), "x y".into())]);
        assert!(request_query("POST / HTTP/1.1\r\n\r\n").is_none());
        assert_eq!(html_escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}

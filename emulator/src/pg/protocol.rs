//! The few PostgreSQL wire-protocol messages the endpoint front end reads and writes
//! before a session is handed to the backing server: the initial packets (startup, SSL,
//! GSSAPI-encryption and cancel requests), the password message, authentication requests,
//! error responses, and the framing of the backend's messages.
//!
//! Everything here is a pure function over bytes so that it can be unit-tested and fuzzed;
//! nothing panics on any input.

use std::fmt;

/// Largest initial packet accepted (PostgreSQL's own `MAX_STARTUP_PACKET_LENGTH`).
pub const MAX_STARTUP_LEN: usize = 10_000;
/// Largest password message accepted.
pub const MAX_PASSWORD_LEN: usize = 10_000;

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;
const PROTOCOL_MAJOR_3: u32 = 3;

/// A malformed or unsupported message from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn err(msg: impl Into<String>) -> ProtocolError {
    ProtocolError(msg.into())
}

/// The first packet of a connection (and of a connection after an SSL or GSSAPI refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initial {
    /// `SSLRequest`: the client wants TLS.
    Ssl,
    /// `GSSENCRequest`: the client wants GSSAPI encryption.
    GssEnc,
    /// `CancelRequest` for the backend with this process id and secret key.
    Cancel {
        /// Backend process id.
        pid: i32,
        /// Backend secret key.
        key: i32,
    },
    /// `StartupMessage`.
    Startup(Startup),
}

/// A `StartupMessage`: protocol version and parameters, in the order the client sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Startup {
    /// Protocol version (`major << 16 | minor`).
    pub version: u32,
    /// Parameters (`user`, `database`, `options`, `application_name`, GUCs, ...).
    pub params: Vec<(String, String)>,
}

impl Startup {
    /// The value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The `user` parameter (required by the protocol; empty when missing).
    pub fn user(&self) -> &str {
        self.get("user").unwrap_or_default()
    }

    /// The database: the `database` parameter, defaulting to the user name.
    pub fn database(&self) -> &str {
        self.get("database").filter(|d| !d.is_empty()).unwrap_or(self.user())
    }

    /// Sets (or replaces) a parameter.
    pub fn set(&mut self, key: &str, value: &str) {
        match self.params.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_string(),
            None => self.params.push((key.to_string(), value.to_string())),
        }
    }

    /// The message as sent on the wire (length included).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.version.to_be_bytes());
        for (k, v) in &self.params {
            body.extend_from_slice(k.as_bytes());
            body.push(0);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
        body.push(0);
        with_length(None, &body)
    }
}

/// A password from a `PasswordMessage`; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Decodes the length word of an initial packet: the size of the body that follows.
pub fn initial_body_len(len_word: [u8; 4]) -> Result<usize, ProtocolError> {
    let len = u32::from_be_bytes(len_word) as usize;
    if !(8..=MAX_STARTUP_LEN).contains(&len) {
        return Err(err(format!("invalid length of startup packet: {len}")));
    }
    Ok(len - 4)
}

/// Parses the body (everything after the length word) of an initial packet.
pub fn parse_initial(body: &[u8]) -> Result<Initial, ProtocolError> {
    let code = read_u32(body, 0).ok_or_else(|| err("incomplete startup packet"))?;
    match code {
        SSL_REQUEST if body.len() == 4 => Ok(Initial::Ssl),
        GSSENC_REQUEST if body.len() == 4 => Ok(Initial::GssEnc),
        CANCEL_REQUEST if body.len() == 12 => {
            let pid = read_u32(body, 4).unwrap_or_default() as i32;
            let key = read_u32(body, 8).unwrap_or_default() as i32;
            Ok(Initial::Cancel { pid, key })
        }
        SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST => Err(err("invalid length of special packet")),
        version if version >> 16 == PROTOCOL_MAJOR_3 => parse_startup(version, &body[4..]),
        version => Err(err(format!(
            "unsupported frontend protocol {}.{}: server supports 3.0 to 3.0",
            version >> 16,
            version & 0xffff
        ))),
    }
}

fn parse_startup(version: u32, mut rest: &[u8]) -> Result<Initial, ProtocolError> {
    let mut params = Vec::new();
    loop {
        let (key, after) =
            cstring(rest).ok_or_else(|| err("invalid startup packet layout: expected terminator as last byte"))?;
        if key.is_empty() {
            if !after.is_empty() {
                return Err(err("invalid startup packet layout: expected terminator as last byte"));
            }
            break;
        }
        let (value, after) = cstring(after).ok_or_else(|| err("invalid startup packet layout: missing value"))?;
        params.push((key.to_string(), value.to_string()));
        rest = after;
    }
    let startup = Startup { version, params };
    if startup.user().is_empty() {
        return Err(err("no PostgreSQL user name specified in startup packet"));
    }
    Ok(Initial::Startup(startup))
}

/// Decodes the header of a typed message (`type`, length word): the size of its body.
pub fn typed_body_len(header: [u8; 5], max: usize) -> Result<(u8, usize), ProtocolError> {
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if !(4..=max.saturating_add(4)).contains(&len) {
        return Err(err(format!("invalid message length {len}")));
    }
    Ok((header[0], len - 4))
}

/// Parses the body of a `PasswordMessage` (type `p`).
pub fn parse_password(body: &[u8]) -> Result<Password, ProtocolError> {
    let (pw, rest) = cstring(body).ok_or_else(|| err("invalid password packet"))?;
    if !rest.is_empty() {
        return Err(err("invalid password packet size"));
    }
    Ok(Password(pw.to_string()))
}

/// `AuthenticationCleartextPassword`.
pub fn auth_cleartext() -> Vec<u8> {
    with_length(Some(b'R'), &3u32.to_be_bytes())
}

/// An `ErrorResponse` with severity (`FATAL`, `ERROR`), SQLSTATE and message.
pub fn error_response(severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (tag, value) in [(b'S', severity), (b'V', severity), (b'C', code), (b'M', message)] {
        body.push(tag);
        body.extend_from_slice(value.replace('\0', "").as_bytes());
        body.push(0);
    }
    body.push(0);
    with_length(Some(b'E'), &body)
}

/// A `CancelRequest` packet.
pub fn cancel_request(pid: i32, key: i32) -> Vec<u8> {
    let mut body = Vec::with_capacity(12);
    body.extend_from_slice(&CANCEL_REQUEST.to_be_bytes());
    body.extend_from_slice(&pid.to_be_bytes());
    body.extend_from_slice(&key.to_be_bytes());
    with_length(None, &body)
}

/// One framed backend message found at the start of `buf`: type, body and total size.
pub fn backend_message(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let tag = *buf.first()?;
    let len = read_u32(buf, 1)? as usize;
    let total = len.checked_add(1)?;
    if len < 4 || buf.len() < total {
        return None;
    }
    Some((tag, &buf[5..total], total))
}

/// `BackendKeyData` body → (process id, secret key).
pub fn backend_key(body: &[u8]) -> Option<(i32, i32)> {
    Some((read_u32(body, 0)? as i32, read_u32(body, 4)? as i32))
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn cstring(buf: &[u8]) -> Option<(&str, &[u8])> {
    let end = buf.iter().position(|b| *b == 0)?;
    let s = std::str::from_utf8(&buf[..end]).ok()?;
    Some((s, &buf[end + 1..]))
}

fn with_length(tag: Option<u8>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.extend(tag);
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup_body(params: &[(&str, &str)]) -> Vec<u8> {
        let s = Startup {
            version: 196_608,
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        s.encode()[4..].to_vec()
    }

    #[test]
    fn startup_round_trips_and_defaults_database_to_user() {
        let body = startup_body(&[("user", "alice@example.com"), ("application_name", "psql")]);
        let Initial::Startup(s) = parse_initial(&body).unwrap() else {
            panic!("not a startup")
        };
        assert_eq!(s.user(), "alice@example.com");
        assert_eq!(s.database(), "alice@example.com");
        assert_eq!(s.get("application_name"), Some("psql"));
        assert_eq!(s.encode()[4..], body[..]);
    }

    #[test]
    fn special_requests_are_recognised() {
        assert_eq!(parse_initial(&SSL_REQUEST.to_be_bytes()).unwrap(), Initial::Ssl);
        assert_eq!(parse_initial(&GSSENC_REQUEST.to_be_bytes()).unwrap(), Initial::GssEnc);
        let cancel = cancel_request(42, -7);
        assert_eq!(
            initial_body_len([cancel[0], cancel[1], cancel[2], cancel[3]]).unwrap(),
            12
        );
        assert_eq!(
            parse_initial(&cancel[4..]).unwrap(),
            Initial::Cancel { pid: 42, key: -7 }
        );
    }

    #[test]
    fn malformed_packets_are_errors() {
        assert!(initial_body_len(3u32.to_be_bytes()).is_err());
        assert!(initial_body_len(1_000_000u32.to_be_bytes()).is_err());
        assert!(parse_initial(&[0, 3]).is_err());
        assert!(parse_initial(&startup_body(&[("database", "x")])).is_err(), "no user");
        let mut unterminated = startup_body(&[("user", "u")]);
        unterminated.pop();
        assert!(parse_initial(&unterminated).is_err());
        assert!(parse_initial(&(2u32 << 16).to_be_bytes()).is_err(), "protocol 2");
        assert!(parse_password(b"secret").is_err());
        assert_eq!(parse_password(b"secret\0").unwrap().0, "secret");
        assert!(parse_password(b"a\0b\0").is_err());
    }

    #[test]
    fn password_debug_is_redacted() {
        assert_eq!(format!("{:?}", Password("hunter2".into())), "Password(<redacted>)");
    }

    #[test]
    fn backend_messages_are_framed() {
        let e = error_response("FATAL", "28P01", "password authentication failed for user \"u\"");
        let (tag, body, total) = backend_message(&e).unwrap();
        assert_eq!((tag, total), (b'E', e.len()));
        assert!(body.windows(5).any(|w| w == b"28P01"));
        assert!(backend_message(&e[..e.len() - 1]).is_none());
        assert!(backend_message(&[b'K', 0, 0, 0, 1]).is_none(), "length below 4");
        assert_eq!(backend_key(&[0, 0, 0, 5, 0, 0, 0, 9]), Some((5, 9)));
    }
}

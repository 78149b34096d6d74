//! Postgres connection strings for an endpoint, with a fresh database credential.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Error, InvalidInput};
use crate::secret::Secret;
use crate::{Client, EndpointName};

/// Characters kept as they are in the user-info and path of a URL.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A `postgres://` URL with the password inside. `Display` and `Debug` hide the password;
/// [`expose`](Self::expose) gives the full URL to hand to a driver. The port is 5432 unless
/// [`with_port`](Self::with_port) says otherwise.
///
/// ```
/// use lakebase::connection::ConnectionString;
/// let url = ConnectionString::new("ep-1.example.com", "app_db", "alice@example.com", "s3cr3t".into());
/// assert_eq!(url.to_string(), "postgres://alice%40example.com:***@ep-1.example.com:5432/app_db?sslmode=require");
/// assert!(url.expose().contains(":s3cr3t@"));
/// ```
#[derive(Clone)]
pub struct ConnectionString {
    host: String,
    database: String,
    user: String,
    password: Secret,
    port: u16,
}

impl ConnectionString {
    /// A connection string for `user` on `database` at `host` (port 5432, TLS required).
    pub fn new(
        host: impl Into<String>,
        database: impl Into<String>,
        user: impl Into<String>,
        password: Secret,
    ) -> Self {
        ConnectionString {
            host: host.into(),
            database: database.into(),
            user: user.into(),
            password,
            port: 5432,
        }
    }

    /// The same connection string with another port (e.g. `PGPORT`, or an emulator's).
    ///
    /// ```
    /// use lakebase::connection::ConnectionString;
    /// let url = ConnectionString::new("127.0.0.2", "db", "u", "p".into()).with_port(6543);
    /// assert_eq!(url.to_string(), "postgres://u:***@127.0.0.2:6543/db?sslmode=require");
    /// ```
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The full URL, password included.
    pub fn expose(&self) -> String {
        self.render(&utf8_percent_encode(self.password.expose(), KEEP).to_string())
    }

    fn render(&self, password: &str) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}?sslmode=require",
            utf8_percent_encode(&self.user, KEEP),
            password,
            self.host,
            self.port,
            utf8_percent_encode(&self.database, KEEP)
        )
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render("***"))
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionString({self})")
    }
}

impl Client {
    /// Reads the endpoint's read-write host, generates a database credential for it and
    /// returns the connection string for `user` (the Databricks identity the token was
    /// issued to; `None` resolves it with [`Client::postgres_user`]) on `database`.
    pub async fn connection_string(
        &self,
        endpoint: &EndpointName,
        database: &str,
        user: Option<&str>,
    ) -> Result<ConnectionString, Error> {
        let user = self.postgres_user(user).await?;
        let status = self.get_endpoint(endpoint).await?.status.unwrap_or_default();
        let host = status.hosts.and_then(|h| h.host).ok_or_else(|| {
            Error::InvalidInput(InvalidInput::new(
                "endpoint",
                format!("{endpoint} has no host yet (is it still starting?)"),
            ))
        })?;
        let credential = self.generate_database_credential(endpoint).await?;
        let token = credential.token.unwrap_or_default();
        Ok(ConnectionString::new(host, database, user, Secret::new(token)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_user_database_and_password() {
        let url = ConnectionString::new("h", "my db", "a@b", "p:w/d@".into());
        assert_eq!(
            url.expose(),
            "postgres://a%40b:p%3Aw%2Fd%40@h:5432/my%20db?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("p:w"));
        assert!(!url.to_string().contains("p%3A"));
    }
}

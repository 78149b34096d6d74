//! TLS to the endpoint with rustls.
//!
//! Lakebase requires TLS. [`TlsMode::Require`] (the default) encrypts and **verifies** the
//! server: its certificate must chain to a trusted root (the system's, or the CA given with
//! [`PoolBuilder::ca_cert_pem`](crate::PoolBuilder::ca_cert_pem) / `PGSSLROOTCERT`) and name
//! the host. [`TlsMode::Disable`] is only accepted for loopback hosts (local Postgres,
//! the emulator).

use std::net::IpAddr;
use std::str::FromStr;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::Error;

/// How connections are secured, from `PGSSLMODE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// Plain TCP. Only for loopback hosts.
    Disable,
    /// TLS with the server certificate and host name verified.
    #[default]
    Require,
}

impl FromStr for TlsMode {
    type Err = Error;

    /// `disable` is [`Disable`](TlsMode::Disable). `allow`, `prefer`, `require`, `verify-ca`
    /// and `verify-full` are all [`Require`](TlsMode::Require): Lakebase always offers TLS, and
    /// this pool never connects without verifying the server (like the official Node driver's
    /// `require`).
    fn from_str(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "disable" => Ok(TlsMode::Disable),
            "allow" | "prefer" | "require" | "verify-ca" | "verify-full" => Ok(TlsMode::Require),
            other => Err(Error::Config(format!(
                "PGSSLMODE {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ))),
        }
    }
}

/// Whether `host` is a loopback address or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The connector for `mode`: `None` for [`TlsMode::Disable`] (rejected for non-loopback
/// hosts), else rustls trusting `ca_pem` if given, the system roots otherwise.
pub(crate) fn connector(mode: TlsMode, host: &str, ca_pem: Option<&str>) -> Result<Option<MakeRustlsConnect>, Error> {
    match mode {
        TlsMode::Disable if is_loopback(host) => Ok(None),
        TlsMode::Disable => Err(Error::Config(format!(
            "TLS can only be disabled for loopback hosts, not {host:?}: Lakebase requires TLS"
        ))),
        TlsMode::Require => {
            let roots = match ca_pem {
                Some(pem) => custom_roots(pem)?,
                None => system_roots()?,
            };
            let provider = lakebase::tls::crypto_provider();
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Config(format!("TLS setup: {e}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Some(MakeRustlsConnect::new(config)))
        }
    }
}

fn custom_roots(pem: &str) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| Error::Config(format!("the CA certificate is not valid PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Config(format!("the CA certificate is not usable: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Config("the CA PEM holds no certificate".to_owned()));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(Error::Config(
            "no system root certificates found; give the server's CA (ca_cert_pem or PGSSLROOTCERT)".to_owned(),
        ));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_parse_and_only_disable_turns_tls_off() {
        assert_eq!("disable".parse::<TlsMode>().unwrap(), TlsMode::Disable);
        for mode in ["allow", "prefer", "require", "VERIFY-CA", " verify-full "] {
            assert_eq!(mode.parse::<TlsMode>().unwrap(), TlsMode::Require, "{mode}");
        }
        let error = "requrie".parse::<TlsMode>().unwrap_err().to_string();
        assert!(error.contains("\"requrie\""), "{error}");
    }

    #[test]
    fn disable_is_only_for_loopback() {
        for host in ["127.0.0.7", "localhost", "::1", "[::1]"] {
            assert!(connector(TlsMode::Disable, host, None).unwrap().is_none(), "{host}");
        }
        let remote = connector(TlsMode::Disable, "ep-1.database.us-east-1.cloud.databricks.com", None);
        assert!(matches!(remote, Err(Error::Config(m)) if m.contains("loopback")));
    }

    #[test]
    fn a_bad_ca_is_a_config_error() {
        assert!(matches!(
            connector(TlsMode::Require, "h", Some("not a pem")),
            Err(Error::Config(m)) if m.contains("no certificate")
        ));
    }
}

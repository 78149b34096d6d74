//! TLS for the endpoints: a certificate authority made per emulator run (or kept in the
//! data directory), and a server certificate per endpoint host whose subject names the host
//! address, so `sslmode=verify-full sslrootcert=<ca.pem>` works.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::PgError;

const CA_NAME: &str = "lakebase-emulator local CA";

/// The emulator's certificate authority.
pub struct Authority {
    pem: String,
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

fn tls_err(e: impl std::fmt::Display) -> PgError {
    PgError::Setup(format!("TLS setup: {e}"))
}

fn ca_params() -> Result<CertificateParams, PgError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

impl Authority {
    /// A new authority, or the one kept in `dir` (`ca.pem`, `ca.key`), which is written when
    /// missing.
    pub fn load_or_create(dir: Option<&Path>) -> Result<Self, PgError> {
        let files = dir.map(|d| (d.join("ca.pem"), d.join("ca.key")));
        if let Some((cert, key)) = &files
            && let (Ok(pem), Ok(key_pem)) = (std::fs::read_to_string(cert), std::fs::read_to_string(key))
        {
            let key = KeyPair::from_pem(&key_pem).map_err(tls_err)?;
            let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| tls_err(format!("ca.pem: {e}")))?;
            return Ok(Self {
                pem,
                der,
                issuer: Issuer::new(ca_params()?, key),
            });
        }
        let key = KeyPair::generate().map_err(tls_err)?;
        let params = ca_params()?;
        let cert = params.self_signed(&key).map_err(tls_err)?;
        if let Some((cert_path, key_path)) = &files {
            write_private(key_path, &key.serialize_pem())?;
            std::fs::write(cert_path, cert.pem()).map_err(tls_err)?;
        }
        Ok(Self {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The authority's certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server configuration for an endpoint at `host`.
    pub fn server_config(&self, host: Ipv4Addr) -> Result<Arc<ServerConfig>, PgError> {
        let mut params = CertificateParams::new(vec![host.to_string(), "localhost".to_string()]).map_err(tls_err)?;
        params.distinguished_name.push(DnType::CommonName, host.to_string());
        let key = KeyPair::generate().map_err(tls_err)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(tls_err)?;
        let chain = vec![cert.der().clone(), self.der.clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // Loopback only: ring builds fast; its lack of post-quantum key exchange (why rustls
        // deprecates it) does not matter for a local emulator.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(tls_err)?;
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Arc::new(config))
    }
}

fn write_private(path: &Path, contents: &str) -> Result<(), PgError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(tls_err)?;
    f.write_all(contents.as_bytes()).map_err(tls_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_authority_is_reloaded_with_the_same_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let first = Authority::load_or_create(Some(dir.path())).unwrap();
        let again = Authority::load_or_create(Some(dir.path())).unwrap();
        assert_eq!(first.pem(), again.pem());
        assert!(again.server_config(Ipv4Addr::new(127, 0, 0, 9)).is_ok());
        let fresh = Authority::load_or_create(None).unwrap();
        assert_ne!(fresh.pem(), first.pem());
    }
}

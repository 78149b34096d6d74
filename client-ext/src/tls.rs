//! The rustls crypto provider behind every HTTPS connection this crate makes.
//!
//! Chosen at build time by this crate's features: `ring` (the default) or `aws-lc-rs`
//! (when both are enabled, aws-lc-rs). reqwest is built without a provider of its own, so
//! before building an HTTP client this crate installs the selected provider as rustls'
//! process default, unless the application installed one first (then that one is used).
//!
//! Other rustls users in the same program (a Postgres driver, for instance) can share it:
//!
//! ```
//! let config = rustls::ClientConfig::builder_with_provider(lakebase::tls::crypto_provider())
//!     .with_safe_default_protocol_versions()
//!     .expect("the provider supports TLS 1.2 and 1.3")
//!     .with_root_certificates(rustls::RootCertStore::empty())
//!     .with_no_client_auth();
//! # let _ = config;
//! ```

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!("lakebase needs a TLS crypto provider: enable its `ring` (default) or `aws-lc-rs` feature");

/// The crypto provider selected by this crate's features.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    // rustls marks ring's provider deprecated because it has no post-quantum key exchange:
    // the trade-off of the default, documented in docs/build.md (`aws-lc-rs` has it).
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    Arc::new(provider)
}

/// Installs [`crypto_provider`] as rustls' process default unless one is installed
/// already. This crate does it before building its HTTP clients; call it first when the
/// program builds reqwest or rustls clients of its own that rely on the process default.
pub fn install_default_provider() {
    if CryptoProvider::get_default().is_none() {
        // Losing a race with another thread installing one is fine: that one is used.
        let _ = CryptoProvider::install_default(Arc::unwrap_or_clone(crypto_provider()));
    }
}

/// A reqwest client builder whose TLS uses the process's rustls provider: the one the
/// application installed, else [`crypto_provider`] (installed here).
pub(crate) fn http_client_builder() -> reqwest::ClientBuilder {
    install_default_provider();
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_client_builds_and_leaves_a_process_provider() {
        let client = http_client_builder().build();
        assert!(client.is_ok(), "{:?}", client.err());
        assert!(CryptoProvider::get_default().is_some());
    }

    #[test]
    fn the_selected_provider_offers_tls13_suites() {
        let provider = crypto_provider();
        assert!(
            provider
                .cipher_suites
                .iter()
                .any(|suite| suite.version() == &rustls::version::TLS13)
        );
    }
}

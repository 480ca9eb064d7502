//! The sandbox's HTTPS: a rustls server configuration from the server
//! certificate its own TLS CA issued (see [`state`](super::state)).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// Builds the rustls server configuration (TLS 1.2 and 1.3, HTTP/1.1).
pub(crate) fn server_config(
    cert_pem: &str,
    ca_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::ServerConfig>> {
    let bad = |d: String| Error::Config {
        detail: format!("sandbox TLS: {d}"),
    };
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .chain(CertificateDer::pem_slice_iter(ca_pem.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("certificate PEM: {e}")))?;
    let key =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| bad(format!("server key PEM: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

//! The sandbox's HTTPS: a rustls server configuration from the server
//! certificate its own TLS CA issued (see [`state`](super::state)).

use std::sync::Arc;

use crate::error::{Error, Result};

fn pem_blocks(pem: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in pem.lines() {
        if line.starts_with("-----BEGIN") {
            cur = Some(String::new());
        } else if line.starts_with("-----END") {
            if let Some(b) = cur.take() {
                if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(b.trim()) {
                    out.push(d);
                }
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(line.trim());
        }
    }
    out
}

/// Builds the rustls server configuration (TLS 1.2 and 1.3, HTTP/1.1).
pub(crate) fn server_config(
    cert_pem: &str,
    ca_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::ServerConfig>> {
    let bad = |d: String| Error::Config {
        detail: format!("sandbox TLS: {d}"),
    };
    let mut chain: Vec<rustls::pki_types::CertificateDer<'static>> =
        pem_blocks(cert_pem).into_iter().map(Into::into).collect();
    chain.extend(pem_blocks(ca_pem).into_iter().map(Into::into));
    let key_der = pem_blocks(key_pem)
        .into_iter()
        .next()
        .ok_or_else(|| bad("no server key".into()))?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into());
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

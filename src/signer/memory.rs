//! `MemorySigner`: a key held in this process's memory.
//!
//! **NO SECURITY.** It exists for tests, examples and benchmarks: the key
//! is a plain in-memory value with no protection at all. The PKCS#12
//! backend signs through it once the file is decrypted.

use async_trait::async_trait;
use zeroize::Zeroizing;

use super::{DigestBatch, KeyInfo, PrivateKey, RemoteSigner};
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// A [`RemoteSigner`] over a private key in memory. **NO SECURITY**: for
/// tests and examples only.
#[derive(Debug)]
pub struct MemorySigner {
    key: PrivateKey,
    certificate: Certificate,
    chain: Vec<Certificate>,
}

impl MemorySigner {
    /// Wraps a key and its certificate (and the certificate's issuers, up to
    /// the root). Fails with [`crate::Error::KeyMismatch`] when the
    /// certificate is not the key's.
    pub fn new(key: PrivateKey, certificate: Certificate, chain: Vec<Certificate>) -> Result<Self> {
        key.check_matches(certificate.public_key_der())?;
        Ok(Self {
            key,
            certificate,
            chain,
        })
    }

    /// Builds a signer from PEM text: a PKCS#8 `PRIVATE KEY`, its
    /// `CERTIFICATE`, and the issuing chain as zero or more concatenated
    /// `CERTIFICATE` blocks, from the issuer up to the root.
    ///
    /// Errors: [`Error::Malformed`] for PEM or DER that does not decode,
    /// [`Error::Unsupported`] for a PKCS#1 or SEC1 key (convert it with
    /// `openssl pkcs8 -topk8 -nocrypt`) or an unsupported key type,
    /// [`Error::KeyMismatch`] when the certificate is not the key's.
    pub fn from_pem(key_pem: &str, cert_pem: &str, chain_pem: &str) -> Result<Self> {
        let (label, der) = der::pem::decode_vec(key_pem.as_bytes())
            .map_err(|e| Error::malformed("PEM private key", e.to_string()))?;
        let der = Zeroizing::new(der);
        if label != "PRIVATE KEY" {
            return Err(Error::unsupported(format!(
                "a PEM '{label}' key; only PKCS#8 'PRIVATE KEY' is read"
            )));
        }
        let key = PrivateKey::from_pkcs8_der(&der)?;
        let mut certs = certificates_from_pem(cert_pem)?.into_iter();
        let certificate = match (certs.next(), certs.next()) {
            (Some(c), None) => c,
            (None, _) => return Err(Error::malformed("PEM certificate", "no CERTIFICATE block")),
            (Some(_), Some(_)) => {
                return Err(Error::invalid_argument(
                    "the signing certificate's PEM holds several certificates; pass the issuers as the chain",
                ));
            }
        };
        Self::new(key, certificate, certificates_from_pem(chain_pem)?)
    }

    /// The private key (for tests that need to compare signatures).
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }
}

/// Every `CERTIFICATE` block of `pem`, in order (none for empty text).
fn certificates_from_pem(pem: &str) -> Result<Vec<Certificate>> {
    if pem.trim().is_empty() {
        return Ok(Vec::new());
    }
    let parsed = x509_cert::Certificate::load_pem_chain(pem.as_bytes())
        .map_err(|e| Error::malformed_from("PEM certificate", e))?;
    parsed
        .iter()
        .map(|c| {
            let der = der::Encode::to_der(c).map_err(|e| Error::malformed_from("PEM certificate", e))?;
            Certificate::from_der(&der)
        })
        .collect()
}

#[async_trait]
impl RemoteSigner for MemorySigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    fn key_info(&self) -> KeyInfo {
        self.key.info()
    }

    async fn sign_batch(&self, batch: &DigestBatch<'_>) -> Result<Vec<Vec<u8>>> {
        self.key.sign_batch(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SignatureAlgorithm;

    const KEY: &str = include_str!("../../fixtures/rep-rsa2048.key.pem");
    const CERT: &str = include_str!("../../fixtures/rep-rsa2048.pem");
    const ROOT: &str = include_str!("../../fixtures/registrar-root.pem");
    const OTHER_CERT: &str = include_str!("../../fixtures/rep-ecdsa.pem");

    #[test]
    fn from_pem_reads_key_certificate_and_chain() {
        let signer = MemorySigner::from_pem(KEY, CERT, ROOT).unwrap();
        assert_eq!(signer.chain().len(), 1);
        assert!(signer.chain()[0].subject().contains("TEST Registrar"));
        let two_roots = format!("{ROOT}{ROOT}");
        assert_eq!(
            MemorySigner::from_pem(KEY, CERT, &two_roots)
                .unwrap()
                .chain()
                .len(),
            2
        );
        assert!(MemorySigner::from_pem(KEY, CERT, "").unwrap().chain().is_empty());
    }

    #[test]
    fn from_pem_errors() {
        let err = MemorySigner::from_pem(KEY, OTHER_CERT, "").unwrap_err();
        assert!(matches!(err, Error::KeyMismatch { .. }), "{err:?}");

        let err = MemorySigner::from_pem("not pem", CERT, "").unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");

        let pkcs1 =
            der::pem::encode_string("RSA PRIVATE KEY", der::pem::LineEnding::LF, &[0x30, 0x00]).unwrap();
        let err = MemorySigner::from_pem(&pkcs1, CERT, "").unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");

        let err = MemorySigner::from_pem(KEY, "", "").unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");

        let err = MemorySigner::from_pem(KEY, &format!("{CERT}{ROOT}"), "").unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");

        let err = MemorySigner::from_pem(
            KEY,
            CERT,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn batch_goes_through_the_shared_checks() {
        let signer = MemorySigner::from_pem(KEY, CERT, "").unwrap();
        let err = signer
            .sign_digests(SignatureAlgorithm::RSA_PKCS1_SHA256, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    }
}

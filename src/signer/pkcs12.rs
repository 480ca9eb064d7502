//! `Pkcs12Signer`: the legacy 商業登記電子証明書 file (PKCS#12) with its password.

use async_trait::async_trait;

use super::{Digest, KeyInfo, PrivateKey, RemoteSigner, SignatureAlgorithm, check_batch};
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// A [`RemoteSigner`] over the key in a PKCS#12 file.
#[derive(Debug)]
pub struct Pkcs12Signer {
    key: PrivateKey,
    certificate: Certificate,
    chain: Vec<Certificate>,
}

impl Pkcs12Signer {
    /// Opens PKCS#12 bytes with `password`.
    pub fn from_bytes(_der: &[u8], _password: &str) -> Result<Self> {
        Err(Error::unsupported("PKCS#12 reading is not written yet"))
    }
}

#[async_trait]
impl RemoteSigner for Pkcs12Signer {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    fn key_info(&self) -> KeyInfo {
        self.key.info()
    }

    async fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        check_batch(&self.key.info(), algorithm, digests)?;
        digests
            .iter()
            .map(|d| self.key.sign_digest(algorithm, d))
            .collect()
    }
}

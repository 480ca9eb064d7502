//! The CSC API on the wire: the JSON bodies of every method ([`v2`], and
//! the v1.0.4.0 shapes that differ in [`v1`]), shared with the sandbox
//! server; and, with feature `remote`, the client's adapters: one per API
//! version, each turning the typed calls of [`model`](super) into request
//! bodies and replies into the model. v1 is an adapter of v2 (it builds the
//! v2 request and reshapes it), as the sandbox's `v1` is on the server side.

#[cfg(feature = "remote")]
pub mod replies;
pub mod v1;
pub mod v2;

#[cfg(feature = "remote")]
pub use adapter::version_from_specs;
#[cfg(feature = "remote")]
pub(crate) use adapter::{
    Json, Wire, b64, cert_status, certificates, encode_hashes, for_version, parse, protocol, scal, unb64,
};

#[cfg(feature = "remote")]
mod adapter {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use zeroize::Zeroizing;

    use super::v2::CertDescription;
    use crate::cert::Certificate;
    use crate::csc::CscVersion;
    use crate::csc::model::{AuthorizeCall, CertificateStatus, CredentialDescription, Scal, SignHashCall};
    use crate::error::{Error, Result};
    use crate::http::sanitize;
    use crate::secret::Secret;
    use crate::signer::{Digest, HashAlgorithm};

    /// A serialized request body; it may hold secrets and is wiped on drop.
    pub(crate) struct Json(Zeroizing<Vec<u8>>);

    impl Json {
        /// Serializes `body`, the request of `method`.
        pub(crate) fn of(method: &str, body: &impl Serialize) -> Result<Self> {
            serde_json::to_vec(body)
                .map(|v| Self(Zeroizing::new(v)))
                .map_err(|e| Error::invalid_argument(format!("{method} request: {e}")))
        }

        /// The bytes.
        pub(crate) fn bytes(&self) -> &[u8] {
            &self.0
        }
    }

    /// What differs between the CSC versions, for the client: the shapes of
    /// requests and replies. The client's methods call these and never ask
    /// which version they speak.
    pub(crate) trait Wire: Send + Sync + 'static {
        /// The version.
        fn version(&self) -> CscVersion;
        /// Whether `credentials/list` replies come in pages (`nextPageToken`).
        fn pages_credential_list(&self) -> bool;
        /// The `credentials/list` request that returns every description at
        /// once, when the version has one.
        fn list_with_infos(&self) -> Option<super::v2::CredentialsListRequest>;
        /// A `credentials/info` reply as the model.
        fn describe(&self, service: &str, id: &str, reply: &[u8]) -> Result<CredentialDescription>;
        /// The `credentials/authorize` body.
        fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Json>;
        /// The `credentials/extendTransaction` body.
        fn extend_transaction(
            &self,
            credential_id: &str,
            sad: &Secret,
            hashes: Option<&[Digest]>,
        ) -> Result<Json>;
        /// The `signatures/signHash` body.
        fn sign_hash(&self, call: &SignHashCall<'_>) -> Result<Json>;
        /// The parameters that bind an OAuth 2.0 `credential`-scope request
        /// to base64 `hashes` of `hash`.
        fn credential_scope_hashes(&self, hashes: String, hash: HashAlgorithm)
        -> Vec<(&'static str, String)>;
    }

    /// The adapter for `version`.
    pub(crate) fn for_version(version: CscVersion) -> &'static dyn Wire {
        match version {
            CscVersion::V2 => &super::v2::V2,
            CscVersion::V1 => &super::v1::V1,
        }
    }

    /// The CSC version an `info.specs` value announces: `1.x` is
    /// [`CscVersion::V1`], `2.x` is [`CscVersion::V2`].
    pub fn version_from_specs(specs: &str) -> Result<CscVersion> {
        let major = specs.trim().split('.').next().unwrap_or("");
        match major {
            "1" => Ok(CscVersion::V1),
            "2" => Ok(CscVersion::V2),
            _ => Err(Error::unsupported(format!(
                "CSC API version {:?} (crpki speaks 1.0.4.0 and 2.x)",
                sanitize(specs)
            ))),
        }
    }

    /// [`Error::Protocol`] from `service`.
    pub(crate) fn protocol(service: &str, detail: impl Into<String>) -> Error {
        Error::Protocol {
            service: service.to_owned(),
            detail: detail.into(),
        }
    }

    /// A JSON reply to `what`.
    pub(crate) fn parse<T: DeserializeOwned>(service: &str, what: &str, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes)
            .map_err(|e| protocol(service, format!("malformed reply to {what}: {e}")))
    }

    pub(crate) fn b64(data: &[u8]) -> String {
        STANDARD.encode(data)
    }

    /// Base64 as services send it (standard or URL-safe, padded or not).
    pub(crate) fn unb64(s: &str) -> Option<Vec<u8>> {
        let s = s.trim();
        STANDARD
            .decode(s)
            .or_else(|_| URL_SAFE.decode(s))
            .or_else(|_| URL_SAFE_NO_PAD.decode(s))
            .or_else(|_| STANDARD_NO_PAD.decode(s))
            .ok()
    }

    /// Digests as a request carries them: base64, and their one hash
    /// algorithm (none for no digests; several algorithms are refused).
    pub(crate) fn encode_hashes(
        hashes: Option<&[Digest]>,
    ) -> Result<(Option<Vec<String>>, Option<HashAlgorithm>)> {
        let Some(hashes) = hashes.filter(|h| !h.is_empty()) else {
            return Ok((None, None));
        };
        let first = hashes[0].algorithm();
        if hashes.iter().any(|d| d.algorithm() != first) {
            return Err(Error::invalid_argument(
                "hashes of different algorithms in one request",
            ));
        }
        Ok((
            Some(hashes.iter().map(|d| b64(d.as_bytes())).collect()),
            Some(first),
        ))
    }

    /// The signing certificate and its issuers of a credential.
    pub(crate) fn certificates(
        service: &str,
        id: &str,
        cert: Option<&CertDescription>,
    ) -> Result<(Option<Certificate>, Vec<Certificate>)> {
        let list = cert.and_then(|c| c.certificates.as_deref()).unwrap_or_default();
        let mut decoded = Vec::with_capacity(list.len());
        for (i, c) in list.iter().enumerate() {
            let der = unb64(c).ok_or_else(|| {
                protocol(
                    service,
                    format!("certificate {i} of credential {id} is not base64"),
                )
            })?;
            decoded.push(Certificate::from_der(&der).map_err(|e| {
                protocol(
                    service,
                    format!("certificate {i} of credential {id} does not parse: {e}"),
                )
            })?);
        }
        let mut it = decoded.into_iter();
        let leaf = it.next();
        Ok((leaf, it.collect()))
    }

    pub(crate) fn cert_status(cert: Option<&CertDescription>) -> CertificateStatus {
        match cert
            .and_then(|c| c.status.as_deref())
            .map(str::to_ascii_lowercase)
        {
            None => CertificateStatus::Unknown,
            Some(s) => match s.as_str() {
                "valid" => CertificateStatus::Valid,
                "expired" => CertificateStatus::Expired,
                "revoked" => CertificateStatus::Revoked,
                "suspended" => CertificateStatus::Suspended,
                _ => CertificateStatus::Other(sanitize(&s)),
            },
        }
    }

    pub(crate) fn scal(service: &str, id: &str, scal: &str) -> Result<Scal> {
        match scal.trim() {
            "1" | "" => Ok(Scal::One),
            "2" => Ok(Scal::Two),
            other => Err(protocol(
                service,
                format!(
                    "credential {id}: unknown SCAL {:?} (only 1 and 2 are defined); not signing with a credential \
                     whose sole-control level is unknown",
                    sanitize(other)
                ),
            )),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn specs_to_version() {
            assert_eq!(version_from_specs("1.0.4.0").unwrap(), CscVersion::V1);
            assert_eq!(version_from_specs("2.0.0.2").unwrap(), CscVersion::V2);
            assert_eq!(version_from_specs("2.1").unwrap(), CscVersion::V2);
            assert!(matches!(
                version_from_specs("3.0"),
                Err(Error::Unsupported { .. })
            ));
        }
    }
}

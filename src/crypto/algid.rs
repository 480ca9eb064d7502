//! AlgorithmIdentifiers read from signed structures (CMS SignerInfos,
//! RFC 3161 tokens): digest algorithms, and signature algorithms with
//! their digest algorithm. Errors name `input`, the structure the
//! identifier came from ("CMS signature", "timestamp token").

use spki::AlgorithmIdentifierOwned;

use super::{HashAlgorithm, SignatureAlgorithm, SignatureScheme, oid as alg_oid, pss};
use crate::error::{Error, Result};

/// Parameters must be absent or NULL (digest algorithms, PKCS#1 signature algorithms).
pub(crate) fn check_null_or_absent(
    id: &AlgorithmIdentifierOwned,
    input: &'static str,
    what: &str,
) -> Result<()> {
    match &id.parameters {
        None => Ok(()),
        Some(p) if p.is_null() => Ok(()),
        Some(_) => Err(Error::malformed(
            input,
            format!("unexpected parameters in the {what} {}", id.oid),
        )),
    }
}

/// The hash of a digestAlgorithm (or of a hash inside PSS parameters).
pub(crate) fn hash_from_id(
    id: &AlgorithmIdentifierOwned,
    input: &'static str,
    what: &str,
) -> Result<HashAlgorithm> {
    check_null_or_absent(id, input, what)?;
    HashAlgorithm::from_oid(&id.oid)
}

/// The SignerInfo's signatureAlgorithm together with its digestAlgorithm,
/// as one [`SignatureAlgorithm`], and for RSASSA-PSS the salt length.
/// Accepts `rsaEncryption` (what OpenSSL writes) and
/// `sha*WithRSAEncryption` (what crpki writes) for PKCS#1.
pub(crate) fn signature_algorithm_from_id(
    id: &AlgorithmIdentifierOwned,
    digest: HashAlgorithm,
    input: &'static str,
) -> Result<(SignatureAlgorithm, Option<usize>)> {
    let mut pss_salt = None;
    let alg = match id.oid {
        alg_oid::RSASSA_PSS => {
            let params = pss::parse(id.parameters.as_ref(), input)?;
            pss_salt = Some(params.salt_len);
            SignatureAlgorithm::new(SignatureScheme::RsaPss, params.hash)
        }
        oid => {
            let alg = SignatureAlgorithm::from_oid(&oid, Some(digest))?;
            match alg.scheme {
                SignatureScheme::RsaPkcs1v15 => check_null_or_absent(id, input, "signature algorithm")?,
                SignatureScheme::Ecdsa if id.parameters.is_some() => {
                    return Err(Error::malformed(
                        input,
                        format!("unexpected parameters in the signature algorithm {oid}"),
                    ));
                }
                _ => {}
            }
            alg
        }
    };
    if alg.hash != digest {
        return Err(Error::unsupported(format!(
            "signature algorithm {alg} with digest algorithm {digest}"
        )));
    }
    Ok((alg, pss_salt))
}

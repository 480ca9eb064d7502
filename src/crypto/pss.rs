//! `RSASSA-PSS-params` (RFC 4055): the one place that writes and reads
//! them, for CMS signer infos, certificates, CSC `signAlgoParams` and the
//! sandbox.
//!
//! crpki writes the hash (with NULL parameters, as RFC 4055 does), MGF1
//! with the same hash and a salt as long as the hash. It reads any salt
//! length (the key decides which it verifies:
//! [`PublicKey::verify_digest_pss`](super::PublicKey::verify_digest_pss)),
//! but only MGF1 with the signature's own hash and trailer field 1.

use der::asn1::Any;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use super::{HashAlgorithm, oid};
use crate::error::{Error, Result};

/// `RSASSA-PSS-params`, every field with its DEFAULT as `None`.
#[derive(Clone, Debug, Default, der::Sequence)]
struct RsaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

/// What a signature's PSS parameters say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pss {
    /// The hash of the message and of MGF1.
    pub hash: HashAlgorithm,
    /// The salt length in bytes (20 when the parameters leave it out).
    pub salt_len: usize,
}

fn hash_id_with_null(hash: HashAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: hash.oid(),
        parameters: Some(Any::null()),
    }
}

/// Encoding values crpki built itself fails only on absurd sizes.
fn internal(e: der::Error) -> Error {
    Error::Other(std::sync::Arc::new(e))
}

/// The parameters crpki signs with, for `hash`, as an `Any`.
pub(crate) fn params_any(hash: HashAlgorithm) -> Result<Any> {
    let mgf_hash = Any::encode_from(&hash_id_with_null(hash)).map_err(internal)?;
    let params = RsaPssParams {
        hash_algorithm: Some(hash_id_with_null(hash)),
        mask_gen_algorithm: Some(AlgorithmIdentifierOwned {
            oid: oid::MGF1,
            parameters: Some(mgf_hash),
        }),
        salt_length: Some(hash.output_len() as u32),
        trailer_field: None,
    };
    Any::encode_from(&params).map_err(internal)
}

/// [`params_any`] as DER (CSC `signAlgoParams` before base64).
#[cfg(feature = "remote")]
pub(crate) fn params_der(hash: HashAlgorithm) -> Result<Vec<u8>> {
    params_any(hash)?.to_der().map_err(internal)
}

/// Reads the parameters of an `id-RSASSA-PSS` AlgorithmIdentifier.
/// Errors name `what` (the structure they came from): missing or
/// undecodable parameters are [`Error::Malformed`]; SHA-1, another mask
/// generation or MGF1 with another hash are [`Error::Unsupported`].
pub(crate) fn parse(params: Option<&Any>, what: &'static str) -> Result<Pss> {
    let malformed = |detail: &str| Error::malformed(what, format!("RSASSA-PSS {detail}"));
    let params = params.ok_or_else(|| malformed("without parameters"))?;
    let p: RsaPssParams = params
        .decode_as()
        .map_err(|e| Error::malformed(what, format!("RSASSA-PSS parameters: {e}")))?;
    let hash_of = |id: &AlgorithmIdentifierOwned, which: &str| {
        if id.parameters.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(malformed(&format!("{which} with parameters other than NULL")));
        }
        HashAlgorithm::from_oid(&id.oid)
    };
    let hash = match &p.hash_algorithm {
        Some(h) => hash_of(h, "hash")?,
        None => return Err(Error::unsupported("RSASSA-PSS with SHA-1")),
    };
    let mgf = p
        .mask_gen_algorithm
        .as_ref()
        .ok_or_else(|| Error::unsupported("RSASSA-PSS with MGF1-SHA-1"))?;
    if mgf.oid != oid::MGF1 {
        return Err(Error::unsupported(format!(
            "RSASSA-PSS mask generation {}",
            mgf.oid
        )));
    }
    let mgf_hash = mgf
        .parameters
        .as_ref()
        .ok_or_else(|| malformed("MGF1 without a hash algorithm"))?;
    let mgf_hash = AlgorithmIdentifierOwned::from_der(&mgf_hash.to_der().map_err(internal)?)
        .map_err(|e| Error::malformed(what, format!("RSASSA-PSS MGF1 hash: {e}")))?;
    let mgf_hash = hash_of(&mgf_hash, "MGF1 hash")?;
    if mgf_hash != hash {
        return Err(Error::unsupported(format!(
            "RSASSA-PSS with {hash} and MGF1-{mgf_hash}"
        )));
    }
    if p.trailer_field.unwrap_or(1) != 1 {
        return Err(malformed("trailer field other than 1"));
    }
    Ok(Pss {
        hash,
        salt_len: p.salt_length.unwrap_or(20) as usize,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn alg(oid: const_oid::ObjectIdentifier, params: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: params,
        }
    }

    fn make(hash: Option<HashAlgorithm>, mgf_hash: HashAlgorithm, salt: Option<u32>) -> Any {
        Any::encode_from(&RsaPssParams {
            hash_algorithm: hash.map(|h| alg(h.oid(), None)),
            mask_gen_algorithm: Some(alg(
                oid::MGF1,
                Some(Any::encode_from(&alg(mgf_hash.oid(), None)).unwrap()),
            )),
            salt_length: salt,
            trailer_field: None,
        })
        .unwrap()
    }

    #[test]
    fn written_as_rfc_4055_and_openssl_do() {
        // What `openssl req -sigopt rsa_padding_mode:pss -sigopt
        // rsa_pss_saltlen:digest -sha256` writes in a certificate.
        let expected = concat!(
            "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108",
            "300d06096086480165030402010500a203020120"
        );
        let der = params_any(HashAlgorithm::Sha256).unwrap().to_der().unwrap();
        assert_eq!(hex::encode(der), expected);
        for hash in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let read = parse(Some(&params_any(hash).unwrap()), "test").unwrap();
            assert_eq!(
                read,
                Pss {
                    hash,
                    salt_len: hash.output_len()
                }
            );
        }
    }

    #[test]
    fn read_with_any_salt_but_only_mgf1_of_the_same_hash() {
        use HashAlgorithm::*;
        let pss = |h, salt_len| Pss { hash: h, salt_len };
        assert_eq!(
            parse(Some(&make(Some(Sha512), Sha512, Some(64))), "t").unwrap(),
            pss(Sha512, 64)
        );
        assert_eq!(
            parse(Some(&make(Some(Sha256), Sha256, Some(222))), "t").unwrap(),
            pss(Sha256, 222)
        );
        assert_eq!(
            parse(Some(&make(Some(Sha256), Sha256, None)), "t").unwrap(),
            pss(Sha256, 20)
        );
        for unsupported in [make(Some(Sha256), Sha384, Some(32)), make(None, Sha256, Some(32))] {
            let e = parse(Some(&unsupported), "t").unwrap_err();
            assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        }
        for malformed in [None, Some(Any::null())] {
            match parse(malformed.as_ref(), "the thing").unwrap_err() {
                Error::Malformed { what, .. } => assert_eq!(what, "the thing"),
                e => panic!("{e:?}"),
            }
        }
    }
}

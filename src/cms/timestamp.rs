//! CAdES-T: the signature-time-stamp unsigned attribute
//! (`id-aa-signatureTimeStampToken`, RFC 3161 Appendix A, ETSI EN 319 122-1
//! §5.3), whose token's imprint is the digest of the SignerInfo's
//! signature value.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfos};
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode};
use x509_cert::attr::Attribute;

use super::asn1::{ID_SIGNED_DATA, internal, malformed, malformed_der};
use crate::cert::Certificate;
use crate::crypto::{Digest, HashAlgorithm};
use crate::error::Result;
use crate::tsp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN;
use crate::tsp::Timestamp;

fn signed_data(cms_der: &[u8]) -> Result<SignedData> {
    let ci = ContentInfo::from_der(cms_der).map_err(malformed_der)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(malformed(format!(
            "content type {} is not signedData",
            ci.content_type
        )));
    }
    ci.content.decode_as().map_err(malformed_der)
}

fn one_signer(sd: &SignedData) -> Result<&cms::signed_data::SignerInfo> {
    match sd.signer_infos.0.as_slice() {
        [one] => Ok(one),
        other => Err(malformed(format!(
            "{} SignerInfos (crpki timestamps signatures with exactly one)",
            other.len()
        ))),
    }
}

/// The imprint a signature timestamp of this DER CMS (one SignerInfo)
/// must cover: `hash` of the SignerInfo's signature value.
pub fn signature_timestamp_imprint(cms_der: &[u8], hash: HashAlgorithm) -> Result<Digest> {
    let sd = signed_data(cms_der)?;
    Ok(hash.digest(one_signer(&sd)?.signature.as_bytes()))
}

/// Adds `token` (a DER timestamp token, `ContentInfo`) to the one
/// SignerInfo of a DER CMS as its `id-aa-signatureTimeStampToken` unsigned
/// attribute and returns the new DER; other unsigned attributes stay. The
/// token is not checked here: get it with `crate::tsp::TsaClient` (feature `remote`) or check
/// it with [`crate::tsp::check_token`] against
/// [`signature_timestamp_imprint`].
pub fn add_signature_timestamp(cms_der: &[u8], token: &[u8]) -> Result<Vec<u8>> {
    let mut sd = signed_data(cms_der)?;
    one_signer(&sd)?;
    let token = Any::from_der(token).map_err(|e| crate::Error::malformed_from(crate::tsp::TOKEN, e))?;
    let mut infos = std::mem::take(&mut sd.signer_infos.0).into_vec();
    let si = &mut infos[0];
    let mut attrs = si.unsigned_attrs.take().map(|a| a.into_vec()).unwrap_or_default();
    match attrs
        .iter_mut()
        .find(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
    {
        Some(existing) => existing.values.insert(token).map_err(internal)?,
        None => attrs.push(Attribute {
            oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
            values: SetOfVec::try_from(vec![token]).map_err(internal)?,
        }),
    }
    si.unsigned_attrs = Some(SetOfVec::try_from(attrs).map_err(internal)?);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(infos).map_err(internal)?);
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(internal)?,
    }
    .to_der()
    .map_err(internal)
}

/// The signature-timestamp tokens of the one SignerInfo of a DER CMS, in order.
pub fn signature_timestamp_tokens(cms_der: &[u8]) -> Result<Vec<Vec<u8>>> {
    let sd = signed_data(cms_der)?;
    let si = one_signer(&sd)?;
    let mut out = Vec::new();
    for attr in si.unsigned_attrs.iter().flat_map(|a| a.iter()) {
        if attr.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN {
            for v in attr.values.iter() {
                out.push(v.to_der().map_err(internal)?);
            }
        }
    }
    Ok(out)
}

/// Timestamps a DER CMS (one SignerInfo) at `tsa`: asks for a token over
/// `hash` of its signature value and adds it ([`add_signature_timestamp`]).
/// Returns the new CMS and the checked timestamp.
#[cfg(feature = "remote")]
pub async fn timestamp_signature(
    cms_der: &[u8],
    tsa: &crate::tsp::TsaClient,
    hash: HashAlgorithm,
) -> Result<(Vec<u8>, crate::tsp::Timestamp)> {
    let imprint = signature_timestamp_imprint(cms_der, hash)?;
    let ts = tsa.timestamp(&imprint).await?;
    let out = add_signature_timestamp(cms_der, &ts.token)?;
    Ok((out, ts))
}

/// The signature timestamp among a SignerInfo's unsigned attributes
/// (`unsigned`: the value bytes inside `[1]`), checked against the
/// signature value and `tsa_roots` (none: checked but not trusted). The
/// first token counts; `None` without one.
pub(super) fn check_attached(
    unsigned: Option<&[u8]>,
    signature: &[u8],
    tsa_roots: &[Certificate],
) -> Result<Option<Timestamp>> {
    let Some(value) = unsigned else { return Ok(None) };
    let len = der::Length::try_from(value.len()).map_err(malformed_der)?;
    let mut set = der::Header::new(der::Tag::Set, len)
        .to_der()
        .map_err(malformed_der)?;
    set.extend_from_slice(value);
    let attrs = x509_cert::attr::Attributes::from_der(&set).map_err(malformed_der)?;
    let Some(token) = attrs
        .iter()
        .filter(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
        .flat_map(|a| a.values.iter())
        .next()
    else {
        return Ok(None);
    };
    let token = token.to_der().map_err(internal)?;
    let roots = (!tsa_roots.is_empty()).then_some(tsa_roots);
    let ts =
        crate::tsp::check_token_with(&token, |hash| Ok(hash.digest(signature)), roots).map_err(
            |e| match e {
                crate::Error::BadSignature { detail } => crate::Error::BadSignature {
                    detail: format!("the signature timestamp: {detail}"),
                },
                crate::Error::Untrusted(f) => crate::Error::BadSignature {
                    detail: format!("the signature timestamp's TSA is not trusted: {f}"),
                },
                other => other,
            },
        )?;
    Ok(Some(ts))
}

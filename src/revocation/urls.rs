//! The URLs a certificate names: OCSP responders and `caIssuers` in its
//! authority information access, CRL distribution points.

use der::Decode;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};

use super::asn1;
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// The http(s) URIs of `names`.
fn uris(names: &[GeneralName]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect()
}

/// The OCSP responder URLs and the `caIssuers` URLs (http and https
/// only) of `cert`'s authority information access.
pub fn access_urls(cert: &Certificate) -> Result<(Vec<String>, Vec<String>)> {
    let Some(ext) = cert.extension(crate::cert::oid::AUTHORITY_INFO_ACCESS) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let aia = AuthorityInfoAccessSyntax::from_der(ext.extn_value.as_bytes())
        .map_err(|e| Error::malformed_from("authorityInfoAccess", e))?;
    let of = |method| {
        let names: Vec<GeneralName> = aia
            .0
            .iter()
            .filter(|d| d.access_method == method)
            .map(|d| d.access_location.clone())
            .collect();
        uris(&names)
    };
    Ok((of(asn1::AD_OCSP), of(asn1::AD_CA_ISSUERS)))
}

/// The http(s) URLs of `cert`'s CRL distribution points (full names).
pub fn crl_urls(cert: &Certificate) -> Result<Vec<String>> {
    let Some(ext) = cert.extension(crate::cert::oid::CRL_DISTRIBUTION_POINTS) else {
        return Ok(Vec::new());
    };
    let points = CrlDistributionPoints::from_der(ext.extn_value.as_bytes())
        .map_err(|e| Error::malformed_from("cRLDistributionPoints", e))?;
    Ok(points
        .0
        .iter()
        .filter_map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(uris(names)),
            _ => None,
        })
        .flatten()
        .collect())
}

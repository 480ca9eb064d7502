//! The Ministry of Justice private extensions of the 商業登記電子証明書
//! (arc `1.2.392.100300`), and the 13-digit 法人番号 derived from the
//! 12-digit 会社法人等番号.
//!
//! Decoding is tolerant where the format says so (unknown tags inside
//! registeredCorporateInfo are skipped) and strict everywhere else: a value
//! that is not a DirectoryString, a tag that appears twice, or a registered
//! number that is not 12 digits, is [`Error::Malformed`].
//!
//! Values are returned as decoded, control characters included; to print
//! them, use [`crate::text::escape_value`] (as [`super::Certificate::summary`] does).

use const_oid::ObjectIdentifier;
use der::asn1::{Any, Utf8StringRef};
use der::{Decode, Encode, Tag, TagNumber};
use serde::Serialize;

use crate::error::{Error, Result};

// The MOJ arc (1.2.392.100300) is not in `const_oid::db`: its OIDs are
// typed here, and only here.

/// `1.2.392.100300.1.1.1` jCertificatePolicies.
pub const OID_J_CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.100300.1.1.1");
/// `1.2.392.100300.1.1.2` registrar (登記官).
pub const OID_REGISTRAR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.100300.1.1.2");
/// `1.2.392.100300.1.1.3` registeredCorporateInfo.
pub const OID_REGISTERED_CORPORATE_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.392.100300.1.1.3");
/// `1.2.392.100300.1.3.4`, the commercial-registration certificate policy.
pub const OID_MOJ_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.100300.1.3.4");

/// Whether crpki understands this extension (so that it may be critical).
pub fn is_moj_extension(oid: &ObjectIdentifier) -> bool {
    [
        OID_J_CERTIFICATE_POLICIES,
        OID_REGISTRAR,
        OID_REGISTERED_CORPORATE_INFO,
    ]
    .contains(oid)
}

/// The registeredCorporateInfo extension: who the certificate speaks for.
///
/// Every field is optional in the encoding; a field that is absent is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CorporateInfo {
    /// `[0]` 商号: the corporate name.
    pub corporate_name: Option<String>,
    /// `[1]` 会社法人等番号: the 12-digit registered number.
    pub registered_number: Option<String>,
    /// `[2]` 本店: the head-office address.
    pub corporate_address: Option<String>,
    /// `[3]` 代表者氏名: the representative's name.
    pub director_name: Option<String>,
    /// `[4]` 資格: the representative's title (代表取締役, …).
    pub director_title: Option<String>,
    /// `[6]` 管轄登記所: the registry office.
    pub registry_office: Option<String>,
}

impl CorporateInfo {
    /// Decodes the extension value (the content of the extnValue OCTET
    /// STRING). Each tag, known or not, may appear once: a SEQUENCE of
    /// OPTIONAL fields has no repeats, and a repeat would let the last
    /// value win unseen.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        const WHAT: &str = "registeredCorporateInfo extension";
        let items: Vec<Any> = Vec::<Any>::from_der(der).map_err(|e| Error::malformed_from(WHAT, e))?;
        let mut info = Self::default();
        let mut seen = std::collections::HashSet::new();
        for item in items {
            let number = match der::Tagged::tag(&item) {
                Tag::ContextSpecific {
                    constructed: true,
                    number,
                } => number.value(),
                other => {
                    return Err(Error::malformed(
                        WHAT,
                        format!("unexpected element {other} (want [n] EXPLICIT)"),
                    ));
                }
            };
            if !seen.insert(number) {
                return Err(Error::malformed(
                    WHAT,
                    format!("[{number}] appears more than once"),
                ));
            }
            let slot = match number {
                0 => &mut info.corporate_name,
                1 => &mut info.registered_number,
                2 => &mut info.corporate_address,
                3 => &mut info.director_name,
                4 => &mut info.director_title,
                6 => &mut info.registry_office,
                // Unknown tags are skipped, as the format asks.
                _ => continue,
            };
            let inner = Any::from_der(item.value()).map_err(|e| Error::malformed_from(WHAT, e))?;
            *slot = Some(
                directory_string(&inner).map_err(|d| Error::malformed(WHAT, format!("[{number}]: {d}")))?,
            );
        }
        if let Some(n) = &info.registered_number
            && (n.len() != 12 || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::malformed(
                WHAT,
                format!("registered number {n:?} is not 12 digits"),
            ));
        }
        Ok(info)
    }

    /// Encodes the extension value: UTF8String everywhere, PrintableString
    /// for the registered number (as MOJ does).
    pub fn to_der(&self) -> Result<Vec<u8>> {
        let fields: [(u8, &Option<String>); 6] = [
            (0, &self.corporate_name),
            (1, &self.registered_number),
            (2, &self.corporate_address),
            (3, &self.director_name),
            (4, &self.director_title),
            (6, &self.registry_office),
        ];
        let mut items = Vec::new();
        for (n, value) in fields {
            let Some(v) = value else { continue };
            let inner = if n == 1 {
                der::asn1::PrintableStringRef::new(v)
                    .map_err(|e| Error::malformed_from("registered number", e))?
                    .to_der()
            } else {
                Utf8StringRef::new(v)
                    .map_err(|e| Error::malformed_from("corporate info", e))?
                    .to_der()
            }
            .map_err(|e| Error::malformed_from("corporate info", e))?;
            let tag = Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(n.into()),
            };
            items.push(Any::new(tag, inner).map_err(|e| Error::malformed_from("corporate info", e))?);
        }
        items
            .to_der()
            .map_err(|e| Error::malformed_from("corporate info", e))
    }

    /// The 13-digit 法人番号 derived from the registered number, if present.
    pub fn corporate_number(&self) -> Option<String> {
        self.registered_number
            .as_deref()
            .and_then(|n| corporate_number(n).ok())
    }
}

/// What the three MOJ extensions of a certificate say, decoded.
///
/// Serializes (serde) with the corporate fields, `registrar` and
/// `policy_oids` (dotted strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MojInfo {
    /// `[0]` 商号: the corporate name.
    pub corporate_name: Option<String>,
    /// `[1]` 会社法人等番号: the 12-digit registered number.
    pub registered_number: Option<String>,
    /// `[2]` 本店: the head-office address.
    pub corporate_address: Option<String>,
    /// `[3]` 代表者氏名: the representative's name.
    pub director_name: Option<String>,
    /// `[4]` 資格: the representative's title.
    pub director_title: Option<String>,
    /// `[6]` 管轄登記所: the registry office.
    pub registry_office: Option<String>,
    /// The registrar extension (「東京法務局登記官」), if present.
    pub registrar: Option<String>,
    /// The policies named by jCertificatePolicies (empty if absent).
    #[serde(serialize_with = "serialize_oids")]
    pub policy_oids: Vec<ObjectIdentifier>,
}

impl MojInfo {
    /// Decodes the extension values (the contents of their extnValue OCTET
    /// STRINGs); `None` when none of the three is present. Any one that is
    /// present and malformed is [`Error::Malformed`].
    pub fn from_extension_values(
        corporate_info: Option<&[u8]>,
        registrar: Option<&[u8]>,
        policies: Option<&[u8]>,
    ) -> Result<Option<Self>> {
        if corporate_info.is_none() && registrar.is_none() && policies.is_none() {
            return Ok(None);
        }
        let corporate = corporate_info
            .map(CorporateInfo::from_der)
            .transpose()?
            .unwrap_or_default();
        Ok(Some(Self {
            corporate_name: corporate.corporate_name,
            registered_number: corporate.registered_number,
            corporate_address: corporate.corporate_address,
            director_name: corporate.director_name,
            director_title: corporate.director_title,
            registry_office: corporate.registry_office,
            registrar: registrar.map(registrar_from_der).transpose()?,
            policy_oids: policies.map(policies_from_der).transpose()?.unwrap_or_default(),
        }))
    }

    /// The registeredCorporateInfo part alone.
    pub fn corporate_info(&self) -> CorporateInfo {
        CorporateInfo {
            corporate_name: self.corporate_name.clone(),
            registered_number: self.registered_number.clone(),
            corporate_address: self.corporate_address.clone(),
            director_name: self.director_name.clone(),
            director_title: self.director_title.clone(),
            registry_office: self.registry_office.clone(),
        }
    }

    /// The 13-digit 法人番号 derived from the registered number, if present.
    pub fn corporate_number(&self) -> Option<String> {
        self.registered_number
            .as_deref()
            .and_then(|n| corporate_number(n).ok())
    }

    /// Whether jCertificatePolicies names the commercial-registration policy
    /// [`OID_MOJ_POLICY`].
    pub fn has_moj_policy(&self) -> bool {
        self.policy_oids.contains(&OID_MOJ_POLICY)
    }
}

fn serialize_oids<S: serde::Serializer>(
    oids: &[ObjectIdentifier],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(oids.iter().map(|o| o.to_string()))
}

/// Decodes the registrar extension value (a DirectoryString such as 「東京法務局登記官」).
pub fn registrar_from_der(der: &[u8]) -> Result<String> {
    let any = Any::from_der(der).map_err(|e| Error::malformed_from("registrar extension", e))?;
    directory_string(&any).map_err(|d| Error::malformed("registrar extension", d))
}

/// Encodes the registrar extension value as a UTF8String.
pub fn registrar_to_der(registrar: &str) -> Result<Vec<u8>> {
    Utf8StringRef::new(registrar)
        .and_then(|s| s.to_der())
        .map_err(|e| Error::malformed_from("registrar extension", e))
}

/// Decodes jCertificatePolicies (the certificatePolicies syntax) and
/// returns the policy OIDs it names.
pub fn policies_from_der(der: &[u8]) -> Result<Vec<ObjectIdentifier>> {
    let policies = x509_cert::ext::pkix::CertificatePolicies::from_der(der)
        .map_err(|e| Error::malformed_from("jCertificatePolicies extension", e))?;
    Ok(policies.0.iter().map(|p| p.policy_identifier).collect())
}

/// Encodes jCertificatePolicies naming `policy` (no qualifiers).
pub fn policies_to_der(policy: ObjectIdentifier) -> Result<Vec<u8>> {
    let policies = x509_cert::ext::pkix::CertificatePolicies(vec![
        x509_cert::ext::pkix::certpolicy::PolicyInformation {
            policy_identifier: policy,
            policy_qualifiers: None,
        },
    ]);
    policies
        .to_der()
        .map_err(|e| Error::malformed_from("jCertificatePolicies extension", e))
}

fn directory_string(any: &Any) -> std::result::Result<String, String> {
    let s = match der::Tagged::tag(any) {
        Tag::Utf8String => any
            .decode_as::<der::asn1::Utf8StringRef<'_>>()
            .map(|s| s.to_string()),
        Tag::PrintableString => any
            .decode_as::<der::asn1::PrintableStringRef<'_>>()
            .map(|s| s.to_string()),
        Tag::Ia5String => any
            .decode_as::<der::asn1::Ia5StringRef<'_>>()
            .map(|s| s.to_string()),
        Tag::BmpString => any.decode_as::<der::asn1::BmpString>().map(|s| s.to_string()),
        other => return Err(format!("{other} is not a DirectoryString")),
    };
    s.map_err(|e| e.to_string())
}

/// The 13-digit 法人番号 for a 12-digit 会社法人等番号: the National Tax
/// Agency check digit followed by the 12 digits.
///
/// ```
/// // The NTA's own example: 会社法人等番号 700110005901 → 法人番号 8700110005901.
/// assert_eq!(crpki::cert::moj::corporate_number("700110005901").unwrap(), "8700110005901");
/// ```
pub fn corporate_number(registered_number: &str) -> Result<String> {
    let digits: Vec<u32> = registered_number.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 12 || registered_number.len() != 12 {
        return Err(Error::invalid_argument(format!(
            "registered number {registered_number:?} is not 12 digits"
        )));
    }
    // P(n) is the n-th digit counted from the right; Q(n) is 1 for odd n, 2 for even n.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, p)| p * if (i + 1) % 2 == 1 { 1 } else { 2 })
        .sum();
    let check = 9 - (sum % 9);
    Ok(format!("{check}{registered_number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corporate_number_matches_nta_examples() {
        // Examples published by the National Tax Agency.
        assert_eq!(corporate_number("700110005901").unwrap(), "8700110005901");
        // 国税庁 itself.
        assert_eq!(corporate_number("000012050002").unwrap(), "7000012050002");
        assert!(corporate_number("12345").is_err());
        assert!(corporate_number("12345678901a").is_err());
    }

    #[test]
    fn corporate_info_round_trips_and_skips_unknown_tags() {
        let info = CorporateInfo {
            corporate_name: Some("株式会社テスト商事".into()),
            registered_number: Some("010001008846".into()),
            corporate_address: Some("東京都千代田区霞が関一丁目1番1号".into()),
            director_name: Some("法務 太郎".into()),
            director_title: Some("代表取締役".into()),
            registry_office: Some("東京法務局".into()),
        };
        let der = info.to_der().unwrap();
        assert_eq!(CorporateInfo::from_der(&der).unwrap(), info);

        // Append an unknown [9] element: still parses to the same fields.
        let mut items: Vec<Any> = Vec::<Any>::from_der(&der).unwrap();
        let tag = Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(9),
        };
        items.push(Any::new(tag, Utf8StringRef::new("x").unwrap().to_der().unwrap()).unwrap());
        let der2 = items.to_der().unwrap();
        assert_eq!(CorporateInfo::from_der(&der2).unwrap(), info);
    }

    #[test]
    fn malformed_corporate_info_is_an_error() {
        assert!(matches!(
            CorporateInfo::from_der(&[0x30, 0x05, 0x01]),
            Err(Error::Malformed { .. })
        ));
        // [1] holding an INTEGER instead of a string
        let bad = [0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x05];
        assert!(matches!(
            CorporateInfo::from_der(&bad),
            Err(Error::Malformed { .. })
        ));
        // registered number of the wrong length
        let info = CorporateInfo {
            registered_number: Some("123".into()),
            ..Default::default()
        };
        assert!(CorporateInfo::from_der(&info.to_der().unwrap()).is_err());
    }

    #[test]
    fn repeated_tags_are_malformed() {
        let real = CorporateInfo {
            corporate_name: Some("株式会社本物".into()),
            registered_number: Some("010001008846".into()),
            ..Default::default()
        };
        let mut items: Vec<Any> = Vec::<Any>::from_der(&real.to_der().unwrap()).unwrap();
        let fake = CorporateInfo {
            corporate_name: Some("株式会社偽物".into()),
            ..Default::default()
        };
        items.extend(Vec::<Any>::from_der(&fake.to_der().unwrap()).unwrap());
        let err = CorporateInfo::from_der(&items.to_der().unwrap()).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { detail, .. } if detail.contains("[0] appears more than once")),
            "{err:?}"
        );
        // An unknown tag twice is a repeat too.
        let unknown = Any::new(
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(9),
            },
            Utf8StringRef::new("x").unwrap().to_der().unwrap(),
        )
        .unwrap();
        let mut items: Vec<Any> = Vec::<Any>::from_der(&real.to_der().unwrap()).unwrap();
        items.push(unknown.clone());
        items.push(unknown);
        assert!(CorporateInfo::from_der(&items.to_der().unwrap()).is_err());
    }
}

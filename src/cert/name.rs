//! Distinguished names: RFC 4514 strings that keep Japanese values readable,
//! and the name comparison that chain building relies on.

use const_oid::ObjectIdentifier;
use der::asn1::Any;
use der::{Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::Name;

/// The RFC 4514 string of a name: RDNs from last to first, separated by
/// `,`; multi-valued RDNs joined by `+`. String values are shown as text
/// (UTF-8 stays UTF-8, BMPString and TeletexString are converted), only the
/// characters RFC 4514 requires and those that must not reach a terminal
/// ([`crate::text::is_unsafe_char`], as hex pairs) are escaped; values that are not strings
/// are `OID=#hex` of their DER.
pub(crate) fn to_rfc4514(name: &Name) -> String {
    let rdns: Vec<&x509_cert::name::RelativeDistinguishedName> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            push_atv(&mut out, atv);
        }
    }
    out
}

fn push_atv(out: &mut String, atv: &AttributeTypeAndValue) {
    match (attribute_name(&atv.oid), string_value(&atv.value)) {
        (Some(key), Some(value)) => {
            out.push_str(&key);
            out.push('=');
            push_escaped(out, &value);
        }
        _ => {
            out.push_str(&atv.oid.to_string());
            out.push_str("=#");
            match atv.value.to_der() {
                Ok(der) => out.push_str(&hex::encode(der)),
                // An `Any` that decoded always re-encodes; keep the string total anyway.
                Err(_) => out.push('?'),
            }
        }
    }
}

fn push_escaped(out: &mut String, value: &str) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            // Controls, bidi overrides, line separators: hex pairs of their UTF-8.
            c if crate::text::is_unsafe_char(c) => crate::text::push_hex_escaped(out, c),
            _ => out.push(c),
        }
    }
}

/// The RFC 4514 short names, then the OID database's names for the rest.
fn attribute_name(oid: &ObjectIdentifier) -> Option<String> {
    use const_oid::db::rfc4519;
    let short = match *oid {
        rfc4519::CN => "CN",
        rfc4519::C => "C",
        rfc4519::L => "L",
        rfc4519::ST => "ST",
        rfc4519::STREET => "STREET",
        rfc4519::O => "O",
        rfc4519::OU => "OU",
        rfc4519::DC => "DC",
        rfc4519::UID => "UID",
        _ => return const_oid::db::DB.by_oid(oid).map(str::to_string),
    };
    Some(short.to_string())
}

/// The text of a DirectoryString-like value, or `None` if it is not a string
/// (or not a valid one).
pub(crate) fn string_value(any: &Any) -> Option<String> {
    let bytes = any.value();
    match any.tag() {
        Tag::Utf8String => std::str::from_utf8(bytes).ok().map(str::to_string),
        Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            if bytes.is_ascii() {
                std::str::from_utf8(bytes).ok().map(str::to_string)
            } else {
                None
            }
        }
        // T.61 in theory, Latin-1 in practice.
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units).collect::<Result<String, _>>().ok()
        }
        _ => None,
    }
}

/// Whether two names are the same name: equal encodings, or the same
/// attributes whose string values are equal after trimming, collapsing
/// white space and ignoring case (a simplified RFC 4518 comparison).
pub(crate) fn names_match(a: &Name, b: &Name) -> bool {
    if a == b {
        return true;
    }
    if a.len() != b.len() {
        return false;
    }
    a.iter_rdn().zip(b.iter_rdn()).all(|(ra, rb)| {
        let va: Vec<&AttributeTypeAndValue> = ra.iter().collect();
        let vb: Vec<&AttributeTypeAndValue> = rb.iter().collect();
        va.len() == vb.len() && va.iter().all(|x| vb.iter().any(|y| atv_match(x, y)))
    })
}

fn atv_match(a: &AttributeTypeAndValue, b: &AttributeTypeAndValue) -> bool {
    if a.oid != b.oid {
        return false;
    }
    if a.value == b.value {
        return true;
    }
    match (string_value(&a.value), string_value(&b.value)) {
        (Some(x), Some(y)) => normalize(&x) == normalize(&y),
        _ => false,
    }
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    #[test]
    fn escapes_what_rfc4514_asks() {
        let n = name("CN=a\\,b,O=x\\+y");
        assert_eq!(to_rfc4514(&n), "CN=a\\,b,O=x\\+y");
    }

    #[test]
    fn matching_ignores_case_and_spacing() {
        assert!(names_match(
            &name("CN=Test  Root,O=Example"),
            &name("CN=test root,O=EXAMPLE")
        ));
        assert!(!names_match(
            &name("CN=Test Root,O=Example"),
            &name("CN=Other Root,O=Example")
        ));
        assert!(!names_match(
            &name("CN=Test Root"),
            &name("CN=Test Root,O=Example")
        ));
    }

    #[test]
    fn bmp_strings_are_readable() {
        let mut bytes = Vec::new();
        for u in "法務".encode_utf16() {
            bytes.extend_from_slice(&u.to_be_bytes());
        }
        let any = Any::new(Tag::BmpString, bytes).unwrap();
        assert_eq!(string_value(&any).as_deref(), Some("法務"));
    }
}

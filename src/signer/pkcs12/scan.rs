//! A look at the unencrypted layers of a PKCS#12 file before p12-keystore
//! opens it.
//!
//! p12-keystore reports an unknown cipher as a bare "unsupported encryption
//! scheme", a PBES2 cipher it cannot parse (Camellia) as a DER error, and a
//! broken file and a wrong password in ways that overlap. Walking the outer
//! structure first lets the caller be told which algorithm is missing, and
//! tells the error mapping whether the file carries a MAC.

use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use const_oid::ObjectIdentifier;
use const_oid::db::{fips202, rfc5753, rfc5911, rfc5912, rfc7292};
use der::asn1::OctetString;
use der::{Any, Decode, Sequence};
use spki::AlgorithmIdentifierOwned;

use crate::error::{Error, Result};

const WHAT: &str = "PKCS#12 file";

/// p12-keystore refuses more iterations than this (MAC and key derivation).
const MAX_ITERATIONS: u64 = 1_000_000;

/// The most iterations of the whole file, MAC and every key derivation
/// together: each is bounded by [`MAX_ITERATIONS`], but a file may carry
/// any number of shrouded key bags and encrypted safes, each derived on
/// its own, so a small file could otherwise cost minutes of CPU (fifty
/// bags of 10^6 iterations fit in 70 KB). A usual file has three (MAC,
/// certificates, key); three of the largest pass. A scrypt derivation,
/// whose cost p12-keystore bounds, counts as [`MAX_ITERATIONS`].
const MAX_TOTAL_ITERATIONS: u64 = 3 * MAX_ITERATIONS;

/// The OIDs `const_oid::db` lacks (PBES2, scrypt, the shroudedKeyBag,
/// hmacWithSHA1, SHA-512/224 and /256, Camellia, DES-CBC, the PKCS#5 v1.5
/// PBEs, PBMAC1, SM3, HMAC-SHA-512/224 and /256) are typed here, once each;
/// every other OID comes from the database.
const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

const ID_DATA: ObjectIdentifier = rfc5911::ID_DATA;
const ID_ENCRYPTED_DATA: ObjectIdentifier = rfc5911::ID_ENCRYPTED_DATA;
const SHROUDED_KEY_BAG: ObjectIdentifier = oid("1.2.840.113549.1.12.10.1.2");
const PBES2: ObjectIdentifier = oid("1.2.840.113549.1.5.13");
const PBKDF2: ObjectIdentifier = rfc5911::ID_PBKDF_2;
const SCRYPT: ObjectIdentifier = oid("1.3.6.1.4.1.11591.4.11");
const HMAC_WITH_SHA1: ObjectIdentifier = oid("1.2.840.113549.2.7");
const PBE_SHA1_3DES: ObjectIdentifier = rfc7292::PBE_WITH_SHA_AND_3_KEY_TRIPLE_DES_CBC;
const PBE_SHA1_RC2_40: ObjectIdentifier = rfc7292::PBEWITH_SHA_AND_40_BIT_RC_2_CBC;

/// Digests p12-keystore computes the integrity MAC with.
const MAC_DIGESTS: &[ObjectIdentifier] = &[
    rfc5912::ID_SHA_1,
    rfc5912::ID_SHA_224,
    rfc5912::ID_SHA_256,
    rfc5912::ID_SHA_384,
    rfc5912::ID_SHA_512,
    oid("2.16.840.1.101.3.4.2.5"),
    oid("2.16.840.1.101.3.4.2.6"),
];

/// PBKDF2 pseudo-random functions its PBES2 (the `pkcs5` crate) knows.
const PBKDF2_PRFS: &[ObjectIdentifier] = &[
    HMAC_WITH_SHA1,
    rfc5753::ID_HMAC_WITH_SHA_224,
    rfc5753::ID_HMAC_WITH_SHA_256,
    rfc5753::ID_HMAC_WITH_SHA_384,
    rfc5753::ID_HMAC_WITH_SHA_512,
];

/// PBES2 ciphers compiled into p12-keystore's `pkcs5` (no DES features).
const PBES2_CIPHERS: &[ObjectIdentifier] = &[
    rfc5911::ID_AES_128_CBC,
    rfc5911::ID_AES_192_CBC,
    rfc5911::ID_AES_256_CBC,
    rfc5911::ID_AES_128_GCM,
    rfc5911::ID_AES_256_GCM,
];

/// Names for algorithms an error message may have to mention; the
/// `const-oid` database lacks several of them (Camellia, the PKCS#12 PBEs).
const NAMES: &[(ObjectIdentifier, &str)] = &[
    (oid("1.2.392.200011.61.1.1.1.2"), "CAMELLIA-128-CBC"),
    (oid("1.2.392.200011.61.1.1.1.3"), "CAMELLIA-192-CBC"),
    (oid("1.2.392.200011.61.1.1.1.4"), "CAMELLIA-256-CBC"),
    (oid("1.3.14.3.2.7"), "DES-CBC"),
    (rfc5911::DES_EDE_3_CBC, "DES-EDE3-CBC"),
    (rfc5911::RC_2_CBC, "RC2-CBC"),
    (rfc5911::ID_AES_192_GCM, "AES-192-GCM"),
    (rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4, "pbeWithSHAAnd128BitRC4"),
    (rfc7292::PBE_WITH_SHA_AND_40_BIT_RC_4, "pbeWithSHAAnd40BitRC4"),
    (
        rfc7292::PBE_WITH_SHA_AND_2_KEY_TRIPLE_DES_CBC,
        "pbeWithSHAAnd2-KeyTripleDES-CBC",
    ),
    (
        rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_2_CBC,
        "pbeWithSHAAnd128BitRC2-CBC",
    ),
    (oid("1.2.840.113549.1.5.1"), "pbeWithMD2AndDES-CBC"),
    (oid("1.2.840.113549.1.5.3"), "pbeWithMD5AndDES-CBC"),
    (oid("1.2.840.113549.1.5.4"), "pbeWithMD2AndRC2-CBC"),
    (oid("1.2.840.113549.1.5.6"), "pbeWithMD5AndRC2-CBC"),
    (oid("1.2.840.113549.1.5.10"), "pbeWithSHA1AndDES-CBC"),
    (oid("1.2.840.113549.1.5.11"), "pbeWithSHA1AndRC2-CBC"),
    (oid("1.2.840.113549.1.5.14"), "PBMAC1"),
    (rfc5912::ID_MD_5, "MD5"),
    (rfc5912::ID_MD_2, "MD2"),
    (fips202::ID_SHA_3_224, "SHA3-224"),
    (fips202::ID_SHA_3_256, "SHA3-256"),
    (fips202::ID_SHA_3_384, "SHA3-384"),
    (fips202::ID_SHA_3_512, "SHA3-512"),
    (oid("1.2.156.10197.1.401"), "SM3"),
    (oid("1.2.840.113549.2.12"), "hmacWithSHA512-224"),
    (oid("1.2.840.113549.2.13"), "hmacWithSHA512-256"),
];

/// `PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo, macData MacData OPTIONAL }`
#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: ContentInfo,
    mac_data: Option<MacData>,
}

/// `MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }`
#[derive(Sequence)]
#[allow(dead_code)] // decoded to check the structure; not every field is read
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
    iterations: Option<u64>,
}

#[derive(Sequence)]
#[allow(dead_code)] // decoded to check the structure; not every field is read
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

/// `SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OF … OPTIONAL }`
#[derive(Sequence)]
#[allow(dead_code)] // decoded to check the structure; not every field is read
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: Any,
    // Only skipped over: an Any accepts the SET whatever its order.
    bag_attributes: Option<Any>,
}

#[derive(Sequence)]
#[allow(dead_code)] // decoded to check the structure; not every field is read
struct EncryptedPrivateKeyInfo {
    encryption_algorithm: AlgorithmIdentifierOwned,
    encrypted_data: OctetString,
}

/// PKCS#12 PBES1 `pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }`
#[derive(Sequence)]
#[allow(dead_code)] // decoded to check the structure; not every field is read
struct PbeParams {
    salt: OctetString,
    iterations: u64,
}

#[derive(Sequence)]
struct Pbes2Params {
    key_derivation_func: AlgorithmIdentifierOwned,
    encryption_scheme: AlgorithmIdentifierOwned,
}

#[derive(Sequence)]
#[allow(dead_code)] // decoded to check the structure; not every field is read
struct Pbkdf2Params {
    // `CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier }`
    salt: Any,
    iteration_count: u64,
    key_length: Option<u64>,
    prf: Option<AlgorithmIdentifierOwned>,
}

/// What the unencrypted layers said about the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// The file has a password-based integrity MAC, so a wrong password is
    /// detected before any decryption.
    pub has_mac: bool,
    /// Some content is encrypted with the password (a shrouded key bag or
    /// an encrypted safe).
    pub encrypted: bool,
}

impl Layout {
    /// Whether a wrong password can only show up as content that fails to
    /// decrypt or decrypts to garbage: encrypted content and no MAC.
    pub fn password_unchecked(&self) -> bool {
        self.encrypted && !self.has_mac
    }
}

/// A readable name for an algorithm OID: the usual name when known, with
/// the dotted form.
pub(super) fn algorithm_name(oid: &ObjectIdentifier) -> String {
    let dotted = oid.to_string();
    let known = NAMES
        .iter()
        .find(|(o, _)| o == oid)
        .map(|(_, n)| *n)
        .or_else(|| const_oid::db::DB.by_oid(oid));
    match known {
        Some(name) => format!("{name} ({dotted})"),
        None => dotted,
    }
}

fn decode<'a, T: Decode<'a>>(what: &str, der: &'a [u8]) -> Result<T>
where
    T::Error: std::fmt::Display,
{
    T::from_der(der).map_err(|e| Error::malformed(WHAT, format!("{what}: {e}")))
}

fn decode_any<T>(what: &str, any: &Any) -> Result<T>
where
    for<'a> T: Decode<'a>,
    for<'a> <T as Decode<'a>>::Error: std::fmt::Display,
{
    decode(
        what,
        &der::Encode::to_der(any).map_err(|e| Error::malformed(WHAT, e.to_string()))?,
    )
}

fn check_iterations(what: &str, iterations: u64) -> Result<()> {
    if iterations > MAX_ITERATIONS {
        return Err(Error::unsupported(format!(
            "{what} iteration count {iterations} (at most {MAX_ITERATIONS})"
        )));
    }
    Ok(())
}

/// Walks the file's unencrypted structure and checks that every algorithm
/// it names can be handled; the password is not needed.
pub(super) fn inspect(der: &[u8]) -> Result<Layout> {
    let pfx: Pfx = decode("PFX", der)?;
    if pfx.version != 3 {
        return Err(Error::unsupported(format!("PKCS#12 version {}", pfx.version)));
    }
    if pfx.auth_safe.content_type != ID_DATA {
        // Public-key integrity mode (signed-data) needs the signer's key, not a password.
        return Err(Error::unsupported(format!(
            "PKCS#12 integrity mode with content type {}",
            algorithm_name(&pfx.auth_safe.content_type)
        )));
    }
    if let Some(mac) = &pfx.mac_data {
        let alg = &mac.mac.algorithm.oid;
        if !MAC_DIGESTS.contains(alg) {
            return Err(Error::unsupported(format!(
                "PKCS#12 MAC digest {}",
                algorithm_name(alg)
            )));
        }
        check_iterations("PKCS#12 MAC", mac.iterations.unwrap_or(1))?;
    }
    let mut total = Total(pfx.mac_data.as_ref().map_or(0, |m| m.iterations.unwrap_or(1)));
    let auth_safe: OctetString = decode_any("authSafe", &pfx.auth_safe.content)?;
    let safes: Vec<ContentInfo> = decode("AuthenticatedSafe", auth_safe.as_bytes())?;
    let mut encrypted = false;
    for safe in &safes {
        match safe.content_type {
            ID_DATA => {
                let data: OctetString = decode_any("SafeContents", &safe.content)?;
                let bags: Vec<SafeBag> = decode("SafeContents", data.as_bytes())?;
                for bag in bags.iter().filter(|b| b.bag_id == SHROUDED_KEY_BAG) {
                    let epki: EncryptedPrivateKeyInfo = decode_any("shrouded key bag", &bag.bag_value)?;
                    total.add(check_encryption("private key", &epki.encryption_algorithm)?)?;
                    encrypted = true;
                }
            }
            ID_ENCRYPTED_DATA => {
                let enc: EncryptedData = decode_any("EncryptedData", &safe.content)?;
                total.add(check_encryption(
                    "certificate",
                    &enc.enc_content_info.content_enc_alg,
                )?)?;
                encrypted = true;
            }
            other => {
                return Err(Error::unsupported(format!(
                    "PKCS#12 safe of content type {}",
                    algorithm_name(&other)
                )));
            }
        }
    }
    Ok(Layout {
        has_mac: pfx.mac_data.is_some(),
        encrypted,
    })
}

/// The iterations of a file's MAC and key derivations so far.
struct Total(u64);

impl Total {
    /// Adds one derivation's; more than [`MAX_TOTAL_ITERATIONS`] in all is
    /// [`Error::Unsupported`], before any is run.
    fn add(&mut self, iterations: u64) -> Result<()> {
        self.0 = self.0.saturating_add(iterations);
        if self.0 > MAX_TOTAL_ITERATIONS {
            return Err(Error::unsupported(format!(
                "PKCS#12 file whose MAC and key derivations take over {MAX_TOTAL_ITERATIONS} iterations in all"
            )));
        }
        Ok(())
    }
}

/// Checks one password-based encryption algorithm (`what` says what it
/// protects); returns the iterations its key derivation takes.
fn check_encryption(what: &str, alg: &AlgorithmIdentifierOwned) -> Result<u64> {
    let unsupported = |part: &str, oid: &ObjectIdentifier| {
        Error::unsupported(format!(
            "PKCS#12 {what} encryption: {part}{}",
            algorithm_name(oid)
        ))
    };
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| Error::malformed(WHAT, format!("{what} encryption without parameters")))?;
    match alg.oid {
        PBE_SHA1_3DES | PBE_SHA1_RC2_40 => {
            let p: PbeParams = decode_any("PBE parameters", params)?;
            check_iterations("PKCS#12 key derivation", p.iterations)?;
            Ok(p.iterations)
        }
        PBES2 => {
            let p: Pbes2Params = decode_any("PBES2 parameters", params)?;
            let iterations = match p.key_derivation_func.oid {
                PBKDF2 => {
                    let kdf_params = p
                        .key_derivation_func
                        .parameters
                        .as_ref()
                        .ok_or_else(|| Error::malformed(WHAT, "PBKDF2 without parameters"))?;
                    let kdf: Pbkdf2Params = decode_any("PBKDF2 parameters", kdf_params)?;
                    let prf = kdf.prf.as_ref().map_or(HMAC_WITH_SHA1, |a| a.oid);
                    if !PBKDF2_PRFS.contains(&prf) {
                        return Err(unsupported("PBKDF2 PRF ", &prf));
                    }
                    check_iterations("PBKDF2", kdf.iteration_count)?;
                    kdf.iteration_count
                }
                // p12-keystore bounds scrypt's cost itself.
                SCRYPT => MAX_ITERATIONS,
                other => return Err(unsupported("PBES2 key derivation ", &other)),
            };
            let cipher = p.encryption_scheme.oid;
            if !PBES2_CIPHERS.contains(&cipher) {
                return Err(unsupported("PBES2 cipher ", &cipher));
            }
            Ok(iterations)
        }
        other => Err(unsupported("", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_algorithms_for_messages() {
        assert_eq!(
            algorithm_name(&oid("1.2.392.200011.61.1.1.1.4")),
            "CAMELLIA-256-CBC (1.2.392.200011.61.1.1.1.4)"
        );
        assert!(algorithm_name(&oid("2.16.840.1.101.3.4.2.1")).contains("2.16.840.1.101.3.4.2.1"));
        assert_eq!(algorithm_name(&oid("1.2.3.4")), "1.2.3.4");
    }

    #[test]
    fn empty_and_non_pfx_input_is_malformed() {
        for der in [&[][..], &[0x30, 0x00], &[0x02, 0x01, 0x03]] {
            assert!(matches!(inspect(der), Err(Error::Malformed { .. })));
        }
    }

    #[test]
    fn reads_the_fixture_layouts() {
        let modern = inspect(include_bytes!("../../../fixtures/rep-rsa2048.p12")).unwrap();
        let legacy = inspect(include_bytes!("../../../fixtures/rep-rsa2048-legacy.p12")).unwrap();
        assert!(modern.has_mac && legacy.has_mac);
        assert!(modern.encrypted && legacy.encrypted);
        assert!(!modern.password_unchecked());
    }
}

//! `Pkcs12Signer`: the legacy 商業登記電子証明書 file (PKCS#12) with its password.
//!
//! The file is opened once: its structure is checked here ([`scan`]), then
//! p12-keystore verifies the MAC and decrypts the bags, and this room picks
//! the key, its certificate and the issuing chain. The decrypted key then
//! lives in memory like a [`MemorySigner`]'s, which does the signing, so the
//! two local backends sign through exactly the same code.
//!
//! This room may use `cert` and the signer's key primitives; it reads the
//! file system only in [`Pkcs12Signer::open`].

use std::fmt;
use std::path::Path;

use async_trait::async_trait;
use der::Decode;
use p12_keystore::error::Error as P12Error;
use p12_keystore::{CertificateBag, Pkcs12Archive, PrivateKeyBag};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
use x509_cert::name::Name;

use super::{DigestBatch, MemorySigner, PrivateKey, RemoteSigner};
use crate::cert::Certificate;
use crate::error::{Error, Result};

mod scan;

/// A [`RemoteSigner`] over the key in a PKCS#12 file (the legacy
/// 商業登記電子証明書 file, or any `.p12`/`.pfx` with one RSA or P-256 key).
///
/// Reads files written by OpenSSL 3 by default (PBES2: PBKDF2 with
/// HMAC-SHA-256 and AES-256-CBC, HMAC-SHA-256 MAC) and legacy files
/// (`openssl pkcs12 -legacy`, Windows and older tools: RC2-40 and 3DES with
/// a SHA-1 MAC). The password is used while opening and is not kept; the
/// decrypted key stays in this process's memory for as long as the signer
/// lives. `Debug` shows the certificate and key type only.
pub struct Pkcs12Signer {
    local: MemorySigner,
}

impl fmt::Debug for Pkcs12Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs12Signer")
            .field("certificate", &self.local.certificate())
            .field("key", &self.local.key_info())
            .field("chain_len", &self.local.chain().len())
            .finish()
    }
}

impl Pkcs12Signer {
    /// Opens a PKCS#12 file with `password`.
    ///
    /// Errors: [`Error::Io`] when the file cannot be read, and otherwise as
    /// [`from_bytes`](Self::from_bytes), with the path in the message.
    pub fn open(path: impl AsRef<Path>, password: &str) -> Result<Self> {
        let path = path.as_ref();
        let der = std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::read(&der, password, &format!("PKCS#12 file {}", path.display()))
    }

    /// Opens PKCS#12 bytes with `password`.
    ///
    /// Picks the private key, the certificate that goes with it, and orders
    /// the file's other certificates from the certificate's issuer up to the
    /// self-signed root, by issuer and subject names (certificates not on
    /// that path are left out).
    ///
    /// Errors:
    /// - [`Error::WrongPassword`]: the integrity MAC does not verify, or, in
    ///   a file without a MAC, the content does not decrypt. A file modified
    ///   after it was written cannot be told apart from a wrong password when
    ///   the change is inside the MAC-protected content;
    /// - [`Error::Malformed`]: not a PKCS#12 file, truncated, or its
    ///   decrypted content is corrupt;
    /// - [`Error::Unsupported`]: a MAC digest, cipher, key derivation or PRF
    ///   that cannot be read (named in the message), an RSA key shorter than
    ///   2048 bits, a key type other than RSA or P-256;
    /// - [`Error::NotFound`]: no private key, or no certificate, in the file;
    /// - [`Error::KeyMismatch`]: the certificate is not the key's.
    pub fn from_bytes(der: &[u8], password: &str) -> Result<Self> {
        Self::read(der, password, "PKCS#12 file")
    }

    fn read(der: &[u8], password: &str, label: &str) -> Result<Self> {
        let layout = scan::inspect(der)?;
        let archive = Pkcs12Archive::from_pkcs12(der, password).map_err(|e| map_error(e, layout, label))?;
        let (key, certificate, chain) = select(archive)?;
        tracing::debug!(
            subject = %certificate.subject(),
            key = %key.info(),
            chain = chain.len(),
            "opened {label}"
        );
        Ok(Self {
            local: MemorySigner::new(key, certificate, chain)?,
        })
    }
}

/// Turns p12-keystore's error into ours, once [`scan::inspect`] has
/// accepted the file's structure and algorithms: what can still fail is the
/// MAC, the decryption, and the content that only the decryption reveals.
fn map_error(e: P12Error, layout: scan::Layout, label: &str) -> Error {
    let wrong_password = || Error::WrongPassword {
        what: label.to_owned(),
    };
    match e {
        P12Error::MacError(_) => wrong_password(),
        // Without a MAC, a wrong password only shows as content that does
        // not decrypt (bad padding) or decrypts to garbage.
        P12Error::UnpadError
        | P12Error::Pkcs5Error(_)
        | P12Error::InvalidPrivateKey
        | P12Error::DerError(_)
        | P12Error::X509Error(_)
            if layout.password_unchecked() =>
        {
            wrong_password()
        }
        // Inside an encrypted safe, where the scan cannot look.
        P12Error::UnsupportedEncryptionScheme => {
            Error::unsupported("an encryption scheme inside the encrypted part of the PKCS#12 file")
        }
        P12Error::UnsupportedMacAlgorithm => Error::unsupported("the PKCS#12 file's MAC algorithm"),
        P12Error::UnsupportedCertificateType => {
            Error::unsupported("a PKCS#12 certificate bag that is not an X.509 certificate")
        }
        P12Error::X509Error(e) => Error::malformed("certificate in PKCS#12 file", e.to_string()),
        other => Error::Malformed {
            what: "PKCS#12 file",
            detail: other.to_string(),
            source: Some(Box::new(other)),
        },
    }
}

/// Picks the key, its certificate and the ordered chain from the bags.
fn select(archive: Pkcs12Archive) -> Result<(PrivateKey, Certificate, Vec<Certificate>)> {
    let Pkcs12Archive { keys, certs, .. } = archive;
    if keys.is_empty() {
        return Err(Error::NotFound {
            what: "private key in the PKCS#12 file".into(),
        });
    }
    if certs.is_empty() {
        return Err(Error::NotFound {
            what: "certificate in the PKCS#12 file".into(),
        });
    }
    // The key bag that names a certificate through its localKeyId, else the
    // first one (files made with `-nocerts -certfile` have no IDs at all).
    let bag = keys
        .iter()
        .find(|k| {
            k.local_key_id
                .as_ref()
                .is_some_and(|id| find_by_id(&certs, id.as_ref()).is_some())
        })
        .or_else(|| keys.first())
        .ok_or_else(|| Error::NotFound {
            what: "private key in the PKCS#12 file".into(),
        })?;
    let key = read_key(bag)?;
    let parsed = certs
        .iter()
        .map(|c| Certificate::from_der(c.cert.as_der()))
        .collect::<Result<Vec<_>>>()?;
    let leaf_index = leaf_of(bag, &key, &certs, &parsed)?;
    let mut pool = parsed;
    let leaf = pool.remove(leaf_index);
    pool.retain(|c| c.der() != leaf.der());
    let chain = order_chain(&leaf, pool);
    Ok((key, leaf, chain))
}

fn read_key(bag: &PrivateKeyBag) -> Result<PrivateKey> {
    // Parsed in place: p12-keystore's decrypted copy cannot be wiped from
    // here (its buffer is private), so at least no second copy is made.
    PrivateKey::from_pkcs8_der(bag.key.as_der())
}

fn find_by_id(certs: &[CertificateBag], id: &[u8]) -> Option<usize> {
    certs.iter().position(|c| c.local_key_id.as_deref() == Some(id))
}

/// The index of the key's certificate: the one sharing its localKeyId, else
/// the one holding its public key, else the file's only end-entity
/// certificate (which then fails the key check with [`Error::KeyMismatch`]).
fn leaf_of(
    bag: &PrivateKeyBag,
    key: &PrivateKey,
    bags: &[CertificateBag],
    certs: &[Certificate],
) -> Result<usize> {
    if let Some(i) = bag
        .local_key_id
        .as_ref()
        .and_then(|id| find_by_id(bags, id.as_ref()))
    {
        return Ok(i);
    }
    if let Some(i) = certs
        .iter()
        .position(|c| key.check_matches(c.public_key_der()).is_ok())
    {
        return Ok(i);
    }
    let end_entities: Vec<usize> = (0..certs.len())
        .filter(|&i| {
            let subject = subject_of(&certs[i]);
            !is_self_signed(&certs[i]) && !certs.iter().any(|c| issuer_of(c) == subject)
        })
        .collect();
    match end_entities.as_slice() {
        [only] => Ok(*only),
        _ => Err(Error::KeyMismatch {
            detail: format!(
                "none of the {} certificates in the PKCS#12 file holds its private key",
                certs.len()
            ),
        }),
    }
}

fn subject_of(c: &Certificate) -> &Name {
    c.inner().tbs_certificate().subject()
}

fn issuer_of(c: &Certificate) -> &Name {
    c.inner().tbs_certificate().issuer()
}

fn is_self_signed(c: &Certificate) -> bool {
    subject_of(c) == issuer_of(c)
}

/// Orders `pool` from `leaf`'s issuer up to a self-signed root by names,
/// whatever order the file stored them in. When several certificates carry
/// the issuer's name (a renewed CA), the one whose subject key identifier
/// is the child's authority key identifier wins.
fn order_chain(leaf: &Certificate, mut pool: Vec<Certificate>) -> Vec<Certificate> {
    let mut chain: Vec<Certificate> = Vec::new();
    loop {
        let child = chain.last().unwrap_or(leaf);
        if is_self_signed(child) {
            break;
        }
        let wanted = authority_key_id(child);
        let candidates: Vec<usize> = (0..pool.len())
            .filter(|&i| subject_of(&pool[i]) == issuer_of(child))
            .collect();
        let pick = candidates
            .iter()
            .copied()
            .find(|&i| wanted.is_some() && subject_key_id(&pool[i]) == wanted)
            .or_else(|| candidates.first().copied());
        match pick {
            Some(i) => {
                let next = pool.remove(i);
                chain.push(next);
            }
            None => break,
        }
    }
    if !pool.is_empty() {
        tracing::debug!(
            left_out = pool.len(),
            "PKCS#12 certificates not on the signing certificate's chain"
        );
    }
    chain
}

fn extension<'a>(c: &'a Certificate, oid: &const_oid::ObjectIdentifier) -> Option<&'a [u8]> {
    c.inner()
        .tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == *oid)
        .map(|e| e.extn_value.as_bytes())
}

fn subject_key_id(c: &Certificate) -> Option<Vec<u8>> {
    let raw = extension(c, &const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    let ski = SubjectKeyIdentifier::from_der(raw).ok()?;
    Some(ski.0.as_bytes().to_vec())
}

fn authority_key_id(c: &Certificate) -> Option<Vec<u8>> {
    let raw = extension(c, &const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER)?;
    let aki = AuthorityKeyIdentifier::from_der(raw).ok()?;
    aki.key_identifier.map(|k| k.as_bytes().to_vec())
}

#[async_trait]
impl RemoteSigner for Pkcs12Signer {
    super::forward_identity!(local);

    async fn sign_batch(&self, batch: &DigestBatch<'_>) -> Result<Vec<Vec<u8>>> {
        self.local.sign_batch(batch).await
    }
}

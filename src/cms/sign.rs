//! Building detached SignedData through a [`RemoteSigner`]: the signer only
//! ever receives the digest of each signed-attribute set.

use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, OctetString, SetOfVec};
use der::{DateTime, Decode, Encode, Tag};
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use super::SignOptions;
use super::asn1::{self, EssCertIdV2, IssuerSerial, SigningCertificateV2, internal};
use super::output::{Existing, OutputBatch};
use crate::cert::Certificate;
use crate::crypto::{Digest, DigestBatch, HashAlgorithm, SignatureAlgorithm};
use crate::error::{Error, Result};
use crate::signer::RemoteSigner;

/// The algorithm to sign with: the caller's choice, or the signer's default
/// with the hash of the given content digests.
pub(super) fn choose_algorithm(
    signer: &dyn RemoteSigner,
    options: &SignOptions,
    content_hash: Option<HashAlgorithm>,
) -> Result<SignatureAlgorithm> {
    let alg = match (options.algorithm, content_hash) {
        (Some(alg), _) => alg,
        (None, Some(hash)) => SignatureAlgorithm::new(signer.default_algorithm().scheme, hash),
        (None, None) => signer.default_algorithm(),
    };
    let key = signer.key_info();
    if !alg.fits(&key) {
        return Err(Error::unsupported(format!("{alg} with a {key} key")));
    }
    Ok(alg)
}

/// Signs everything `reader` yields; see [`super::sign_reader`].
pub(super) async fn sign_reader(
    signer: &dyn RemoteSigner,
    reader: impl Read,
    options: &SignOptions,
) -> Result<Vec<u8>> {
    let alg = choose_algorithm(signer, options, None)?;
    let mut hasher = alg.hash.hasher();
    hasher
        .update_reader(reader)
        .map_err(|e| Error::io("reading the content to sign", e))?;
    let digest = hasher.finish();
    let options = SignOptions {
        algorithm: Some(alg),
        ..options.clone()
    };
    sign_digest(signer, &digest, &options).await
}

/// Signs one content digest; see [`super::sign_digest`].
pub(super) async fn sign_digest(
    signer: &dyn RemoteSigner,
    content_digest: &Digest,
    options: &SignOptions,
) -> Result<Vec<u8>> {
    // `sign_digests` returns exactly one CMS per digest.
    sign_digests(signer, std::slice::from_ref(content_digest), options)
        .await?
        .pop()
        .ok_or_else(|| Error::invalid_argument("no content digest to sign"))
}

/// Signs N content digests with one call to the signer; see [`super::sign_digests`].
pub(super) async fn sign_digests(
    signer: &dyn RemoteSigner,
    content_digests: &[Digest],
    options: &SignOptions,
) -> Result<Vec<Vec<u8>>> {
    let (template, to_sign) = Template::prepare(signer, content_digests, options)?;
    let attr_sets = content_digests
        .iter()
        .map(|d| template.attributes(d))
        .collect::<Result<Vec<_>>>()?;
    // `sign_digests` hands out only signatures that verify with the
    // certificate's key, one per digest (a remote signer that answers with
    // a wrong key or garbage must not produce a CMS that only fails later
    // at the recipient).
    let signatures = signer.sign_digests(template.algorithm, &to_sign).await?;
    attr_sets
        .into_iter()
        .zip(signatures)
        .map(|(attrs, signature)| template.assemble(attrs, signature, None))
        .collect()
}

/// What every CMS of one batch shares (algorithm, signing time, signer
/// identifier, certificates): the signed attributes of a content digest are
/// built from it, and a CMS from those attributes and their signature. The
/// batch signer keeps only this, the content digests and the raw signatures
/// in flight, and assembles each CMS on the thread that writes it.
pub(super) struct Template {
    pub(super) algorithm: SignatureAlgorithm,
    /// The signingTime attribute (`None`: left out, as
    /// [`SignOptions::signing_time_attribute`] asks).
    time: Option<Time>,
    ess: SigningCertificateV2,
    certificates: CertificateSet,
    signature_algorithm: spki::AlgorithmIdentifierOwned,
    sid: SignerIdentifier,
}

impl Template {
    /// Checks the content digests as the signer's batch will be (one hash,
    /// the algorithm's) and returns the template and the digests of each
    /// content's signed attributes, what the signer signs.
    pub(super) fn prepare(
        signer: &dyn RemoteSigner,
        content_digests: &[Digest],
        options: &SignOptions,
    ) -> Result<(Self, Vec<Digest>)> {
        let first = content_digests
            .first()
            .ok_or_else(|| Error::invalid_argument("no content digest to sign"))?;
        let algorithm = choose_algorithm(signer, options, Some(first.algorithm()))?;
        let content_digests = DigestBatch::new(&signer.key_info(), algorithm, content_digests)?.digests();
        let cert = signer.certificate();
        let template = Self {
            algorithm,
            time: options
                .signing_time_attribute
                .then(|| signing_time(options.signing_time.unwrap_or_else(SystemTime::now)))
                .transpose()?,
            ess: signing_certificate_v2(cert)?,
            certificates: certificate_set(
                cert,
                if options.include_chain {
                    signer.chain()
                } else {
                    &[]
                },
            )?,
            signature_algorithm: asn1::signature_algorithm_id(algorithm)?,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: cert.inner().tbs_certificate().issuer().clone(),
                serial_number: cert.inner().tbs_certificate().serial_number().clone(),
            }),
        };
        let to_sign = content_digests
            .iter()
            .map(|d| template.attributes(d).and_then(|a| template.digest_of(&a)))
            .collect::<Result<Vec<_>>>()?;
        Ok((template, to_sign))
    }

    /// The signed attributes of one content (the same bytes every time).
    pub(super) fn attributes(&self, content_digest: &Digest) -> Result<Attributes> {
        signed_attributes(asn1::ID_DATA, content_digest, self.time.as_ref(), &self.ess)
    }

    /// What the signer signs: the digest of the attributes encoded as a SET
    /// (tag 0x31), which is what `SetOfVec` encodes to; inside the
    /// SignerInfo the same bytes are re-tagged [0] IMPLICIT.
    fn digest_of(&self, attrs: &Attributes) -> Result<Digest> {
        Ok(self.algorithm.hash.digest(&attrs.to_der().map_err(internal)?))
    }

    /// The DER detached CMS of one content: its attributes, the (already
    /// verified) signature over them and, when given, a signature
    /// timestamp token over that signature (CAdES-T, unsigned attribute).
    pub(super) fn assemble(
        &self,
        attrs: Attributes,
        signature: Vec<u8>,
        token: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        let hash = self.algorithm.hash;
        let unsigned_attrs = token
            .map(|t| {
                let token = Any::from_der(t).map_err(|e| Error::malformed_from(crate::tsp::TOKEN, e))?;
                SetOfVec::try_from(vec![attribute(
                    crate::tsp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
                    token,
                )?])
                .map_err(internal)
            })
            .transpose()?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: asn1::digest_algorithm_id(hash),
            signed_attrs: Some(attrs),
            signature_algorithm: self.signature_algorithm.clone(),
            signature: OctetString::new(signature).map_err(internal)?,
            unsigned_attrs,
        };
        signed_data(
            hash,
            asn1::ID_DATA,
            None,
            Some(self.certificates.clone()),
            signer_info,
        )
    }
}

/// The DER ContentInfo of a SignedData with the one `signer_info` (whose
/// digest algorithm is `hash`) over content of type `content_type`:
/// encapsulated when `content` is given, detached otherwise; with
/// `certificates` when given. Also what the sandbox's TSA wraps its
/// tokens in.
pub(crate) fn signed_data(
    hash: HashAlgorithm,
    content_type: const_oid::ObjectIdentifier,
    content: Option<&[u8]>,
    certificates: Option<CertificateSet>,
    signer_info: SignerInfo,
) -> Result<Vec<u8>> {
    let econtent = content
        .map(|c| Any::encode_from(&OctetString::new(c).map_err(internal)?).map_err(internal))
        .transpose()?;
    let signed_data = SignedData {
        // RFC 5652 §5.1: 3 when the content is not id-data.
        version: if content_type == asn1::ID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms: SetOfVec::try_from(vec![asn1::digest_algorithm_id(hash)]).map_err(internal)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent,
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(internal)?),
    };
    ContentInfo {
        content_type: asn1::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(internal)?,
    }
    .to_der()
    .map_err(internal)
}

/// RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds.
fn signing_time(at: SystemTime) -> Result<Time> {
    let dt = DateTime::from_system_time(at)
        .map_err(|_| Error::invalid_argument("the signing time must be between 1970 and 9999"))?;
    Ok(Time::from(dt))
}

/// The ESS signingCertificateV2 naming `cert` (SHA-256, issuer and serial).
pub(crate) fn signing_certificate_v2(cert: &Certificate) -> Result<SigningCertificateV2> {
    let tbs = cert.inner().tbs_certificate();
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            // SHA-256 is the field's DEFAULT, so it is left out.
            hash_algorithm: None,
            cert_hash: OctetString::new(HashAlgorithm::Sha256.digest(cert.der()).as_bytes())
                .map_err(internal)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
        policies: None,
    })
}

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(internal)?,
    })
}

/// The signed attributes over content of type `content_type` whose
/// digest is `content_digest`: content type, message digest, ESS
/// signingCertificateV2 and, when given, the signing time.
pub(crate) fn signed_attributes(
    content_type: const_oid::ObjectIdentifier,
    content_digest: &Digest,
    time: Option<&Time>,
    ess: &SigningCertificateV2,
) -> Result<Attributes> {
    let mut attrs = vec![
        attribute(
            asn1::ID_CONTENT_TYPE,
            Any::encode_from(&content_type).map_err(internal)?,
        )?,
        attribute(
            asn1::ID_MESSAGE_DIGEST,
            Any::new(Tag::OctetString, content_digest.as_bytes()).map_err(internal)?,
        )?,
        attribute(
            asn1::ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(ess).map_err(internal)?,
        )?,
    ];
    if let Some(time) = time {
        attrs.push(attribute(
            asn1::ID_SIGNING_TIME,
            Any::encode_from(time).map_err(internal)?,
        )?);
    }
    // `try_from` sorts into DER SET OF order.
    SetOfVec::try_from(attrs).map_err(internal)
}

fn certificate_set(cert: &Certificate, chain: &[Certificate]) -> Result<CertificateSet> {
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut choices = Vec::new();
    for c in std::iter::once(cert).chain(chain) {
        if seen.contains(&c.der()) {
            continue;
        }
        seen.push(c.der());
        choices.push(CertificateChoices::Certificate(c.inner().clone()));
    }
    CertificateSet::try_from(choices).map_err(internal)
}

/// Signs a file and writes the CMS next to nothing else; see [`super::sign_file`].
pub(super) async fn sign_file(
    signer: &dyn RemoteSigner,
    path: &Path,
    out: &Path,
    options: &SignOptions,
) -> Result<()> {
    let alg = choose_algorithm(signer, options, None)?;
    let output = OutputBatch::prepare([out], Existing::Replace)?;
    let digest = hash_file(alg.hash, path).await?;
    let options = SignOptions {
        algorithm: Some(alg),
        ..options.clone()
    };
    let cms = sign_digest(signer, &digest, &options).await?;
    output.commit(&[cms])
}

/// Hashes on a blocking thread when running inside a Tokio runtime, so a
/// large file does not stall the executor.
async fn hash_file(hash: HashAlgorithm, path: &Path) -> Result<Digest> {
    if tokio::runtime::Handle::try_current().is_ok() {
        let owned = path.to_path_buf();
        tokio::task::spawn_blocking(move || crate::crypto::digest_file(hash, &owned))
            .await
            .map_err(|e| Error::Other(std::sync::Arc::new(e)))?
    } else {
        crate::crypto::digest_file(hash, path)
    }
}

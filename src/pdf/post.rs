//! What follows the signature for the higher levels: the signature
//! timestamp in the CMS (B-T), the DSS update (B-LT) and the document
//! timestamp update (B-LTA). The TSA and the revocation data are fetched
//! through the crate's one transport (feature `remote`).
// Without `remote`, only B-B is built: the DSS and timestamp steps stay unused.
#![cfg_attr(not(feature = "remote"), allow(dead_code))]

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::SystemTime;

use tempfile::NamedTempFile;

use super::{Level, SignOptions};
use crate::cert::Certificate;
use crate::crypto::HashAlgorithm;
use crate::error::{Error, Result};
use crate::tsp::Timestamp;

/// Room for a timestamp token (its TSA certificate and chain included) in
/// a `/Contents`.
pub(super) const TOKEN_RESERVE: usize = 16 * 1024;

/// The clients a level needs, checked before anything is signed.
pub(super) struct PostSign<'a> {
    level: Level,
    #[cfg(feature = "remote")]
    tsa: Option<&'a crate::tsp::TsaClient>,
    #[cfg(feature = "remote")]
    revocation: Option<&'a crate::revocation::RevocationClient>,
    #[cfg(not(feature = "remote"))]
    _options: std::marker::PhantomData<&'a ()>,
}

impl<'a> PostSign<'a> {
    pub fn new(options: &'a SignOptions) -> Result<Self> {
        let level = options.level;
        #[cfg(feature = "remote")]
        {
            if level >= Level::BT && options.tsa.is_none() {
                return Err(Error::invalid_argument(format!(
                    "PAdES {level} needs a timestamp authority"
                )));
            }
            if level >= Level::BLT && options.revocation.is_none() {
                return Err(Error::invalid_argument(format!(
                    "PAdES {level} needs a revocation client to collect OCSP responses and CRLs"
                )));
            }
            Ok(Self {
                level,
                tsa: options.tsa.as_deref(),
                revocation: options.revocation.as_deref(),
            })
        }
        #[cfg(not(feature = "remote"))]
        {
            if level > Level::BB {
                return Err(Error::unsupported(format!(
                    "PAdES {level} without feature `remote` (the TSA and revocation clients)"
                )));
            }
            Ok(Self {
                level,
                _options: std::marker::PhantomData,
            })
        }
    }

    /// B-T and above: each CMS with its signature timestamp (asked for all
    /// at once); the tokens' details beside.
    pub async fn timestamp_signatures(
        &self,
        signatures: Vec<Vec<u8>>,
        hash: HashAlgorithm,
    ) -> Result<(Vec<Vec<u8>>, Vec<Option<Timestamp>>)> {
        #[cfg(feature = "remote")]
        if let (true, Some(tsa)) = (self.level >= Level::BT, self.tsa) {
            let stamped = futures_util::future::try_join_all(
                signatures
                    .iter()
                    .map(|cms| crate::cms::timestamp_signature(cms, tsa, hash)),
            )
            .await?;
            return Ok(stamped.into_iter().map(|(cms, ts)| (cms, Some(ts))).unzip());
        }
        let _ = hash;
        let none = vec![None; signatures.len()];
        Ok((signatures, none))
    }

    /// B-LT and above: the DSS update; B-LTA: then the document timestamp.
    /// Returns the signature timestamp's time.
    pub async fn extend(
        &self,
        tmp: &mut NamedTempFile,
        out: &Path,
        chain: &[Certificate],
        ts: Option<&Timestamp>,
    ) -> Result<Option<SystemTime>> {
        #[cfg(feature = "remote")]
        if let (true, Some(client)) = (self.level >= Level::BLT, self.revocation) {
            use crate::revocation::{CheckOptions, RevocationPolicy};
            let (result, mut data) = client.check_chain(chain, &CheckOptions::default()).await;
            // A revoked signer is an error, not a B-LT signature.
            result.enforce(RevocationPolicy::Prefer)?;
            let mut certs = chain.to_vec();
            if let Some(ts) = ts {
                let mut tsa_chain = vec![ts.tsa_certificate.clone()];
                tsa_chain.extend(ts.chain.iter().cloned());
                let (r, d) = client.check_chain(&tsa_chain, &CheckOptions::default()).await;
                r.enforce(RevocationPolicy::Prefer)?;
                data.merge(d);
                certs.extend(tsa_chain);
            }
            let bytes = read_all(tmp, out)?;
            let loaded = super::update::load(&bytes, &crate::text::path(out))?;
            let update = super::ltv::dss_update(&loaded, &bytes, &certs, &data)?;
            append(tmp, out, &update)?;
            if self.level >= Level::BLTA
                && let Some(tsa) = self.tsa
            {
                doc_timestamp(tmp, out, tsa).await?;
            }
        }
        let _ = (tmp, out, chain);
        Ok(ts.map(|t| t.gen_time))
    }
}

fn read_all(tmp: &mut NamedTempFile, out: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let file = tmp.as_file_mut();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| Error::io(format!("reading {}", crate::text::path(out)), e))?;
    Ok(bytes)
}

fn append(tmp: &mut NamedTempFile, out: &Path, update: &[u8]) -> Result<()> {
    let file = tmp.as_file_mut();
    file.seek(SeekFrom::End(0))
        .and_then(|_| file.write_all(update))
        .and_then(|()| file.flush())
        .map_err(|e| Error::io(format!("writing {}", crate::text::path(out)), e))
}

/// Appends a document timestamp (`ETSI.RFC3161`) over the whole file.
#[cfg(feature = "remote")]
async fn doc_timestamp(tmp: &mut NamedTempFile, out: &Path, tsa: &crate::tsp::TsaClient) -> Result<()> {
    let shown = crate::text::path(out);
    let bytes = read_all(tmp, out)?;
    let loaded = super::update::load(&bytes, &shown)?;
    let prepared = super::update::prepare(
        &loaded,
        bytes.len() as u64,
        bytes.last().copied(),
        super::update::SigKind::DocTimeStamp,
        None,
        TOKEN_RESERVE,
        SystemTime::now(),
    )?;
    drop(loaded);
    append(tmp, out, &prepared.update)?;
    let total = bytes.len() as u64 + prepared.update.len() as u64;
    let file = tmp
        .reopen()
        .map_err(|e| Error::io(format!("reading {shown}"), e))?;
    let digest = super::sign::digest_ranges(file, prepared.byte_range(total), HashAlgorithm::Sha256)
        .map_err(|e| Error::io(format!("reading {shown}"), e))?;
    let ts = tsa.timestamp(&digest).await?;
    if ts.token.len() > TOKEN_RESERVE {
        return Err(Error::invalid_argument(format!(
            "the document timestamp is {} bytes but only {TOKEN_RESERVE} were reserved",
            ts.token.len()
        )));
    }
    let file = tmp.as_file_mut();
    file.seek(SeekFrom::Start(prepared.contents_at + 1))
        .and_then(|_| file.write_all(hex::encode_upper(&ts.token).as_bytes()))
        .and_then(|()| file.flush())
        .map_err(|e| Error::io(format!("writing {shown}"), e))
}

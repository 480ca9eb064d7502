//! `crpki sign --timestamp` (CAdES-T) and the timestamp part of `crpki
//! verify`'s report.
//!
//! A timestamped batch is signed with one call to the signer (one
//! authorization, cut to the signer's `multisign`), then each signature is
//! timestamped with its own request to the TSA (RFC 3161 stamps one imprint
//! per request; up to eight requests at once), then every output is
//! written at once, all or nothing.
//! The files' digests are computed first, so the pipeline's streaming of
//! endless lists does not apply here.

use std::path::PathBuf;

use crpki::cms::{self, Existing, OutputBatch, SignJob, SignOptions};
use crpki::crypto::{Digest, HashAlgorithm};
use crpki::http::{TransportConfig, http_client};
use crpki::profile::{Profile, ProfileStore};
use crpki::tsp::{Timestamp, TsaClient};
use crpki::{Certificate, Error, RemoteSigner};
use futures_util::StreamExt as _;

use crate::sign::{Jobs, Show, json_line};
use crate::{CliResult, fail, load_roots};

/// How many timestamp requests a batch has at the TSA at once.
const TSA_IN_FLIGHT: usize = 8;

/// The TSA a `crpki sign --timestamp` asks.
pub struct Stamper {
    client: TsaClient,
    hash: HashAlgorithm,
}

/// What `crpki sign` says about timestamps.
pub struct StampArgs<'a> {
    pub timestamp: bool,
    pub tsa: Option<&'a str>,
    pub tsa_ca: &'a [PathBuf],
}

impl Stamper {
    /// The stamper `args` ask for, if any: the TSA from `--tsa`, else the
    /// profile's `tsa_url` (the sandbox profile's is its sandbox's); the
    /// roots from `--tsa-ca`, else the profile's `tsa_root_file` when the
    /// TSA is the profile's; the transport of the profile (or the default
    /// one when there is no profile to read).
    pub fn from_args(
        args: &StampArgs<'_>,
        profile: impl FnOnce() -> CliResult<Profile>,
    ) -> CliResult<Option<Self>> {
        if !args.timestamp && args.tsa.is_none() {
            return Ok(None);
        }
        let profile = match (profile(), args.tsa) {
            (Ok(p), _) => Some(p),
            (Err(_), Some(_)) => None,
            (Err(f), None) => {
                return Err(fail(format!(
                    "--timestamp needs a TSA: pass --tsa URL, or use a profile with a tsa_url ({})",
                    f.message
                )));
            }
        };
        let from_profile = profile.as_ref().and_then(|p| p.tsa_url.clone());
        let (url, profile_tsa) = match (args.tsa, from_profile) {
            (Some(url), p) => (url.to_owned(), p.as_deref() == Some(url)),
            (None, Some(url)) => (url, true),
            (None, None) => {
                return Err(fail(
                    "--timestamp needs a TSA: pass --tsa URL (or set tsa_url in the profile)",
                ));
            }
        };
        let roots = if !args.tsa_ca.is_empty() {
            Some(load_roots(args.tsa_ca)?)
        } else {
            match profile.as_ref().and_then(|p| p.tsa_root_file.clone()) {
                Some(file) if profile_tsa => Some(load_roots(&[file])?),
                _ => None,
            }
        };
        let transport = match &profile {
            Some(p) => TransportConfig::from_profile(p)?,
            None => TransportConfig::default(),
        };
        let client = TsaClient::new(http_client(&transport)?, &url, roots)?;
        Ok(Some(Self {
            client,
            hash: HashAlgorithm::Sha256,
        }))
    }

    /// Adds a signature timestamp to one CMS.
    pub async fn stamp(&self, cms_der: &[u8]) -> crpki::Result<Vec<u8>> {
        let (out, ts) = cms::timestamp_signature(cms_der, &self.client, self.hash).await?;
        if !ts.trusted {
            tracing::info!(
                tsa = self.client.service(),
                "TSA certificate chain not checked (no TSA root given)"
            );
        }
        Ok(out)
    }
}

/// The profile store's profile, for the TSA settings (`--p12` signing has
/// no context of its own).
pub fn profile_of(profile_flag: Option<String>) -> CliResult<Profile> {
    let store: ProfileStore = crate::manage::open_store()?;
    let ctx = crate::Context { store, profile_flag };
    Ok(ctx.store.resolve(&ctx.profile_name()?)?)
}

/// Signs the jobs as one batch, timestamps every signature, writes all
/// outputs at once. Returns the number of files signed.
pub async fn sign_jobs(
    signer: &dyn RemoteSigner,
    jobs: Jobs,
    existing: Existing,
    show: Show,
    stamper: &Stamper,
) -> CliResult<u64> {
    let subject = signer.certificate().subject();
    let report = |input: Option<&std::path::Path>, e: Error| {
        let f = crate::Failure::from(e);
        if show.json {
            json_line(input, None, Some(&subject), Some(&f.message));
        }
        f
    };
    let jobs: Vec<SignJob> = jobs.collect::<crpki::Result<_>>().map_err(|e| report(None, e))?;
    if jobs.is_empty() {
        return Ok(0);
    }
    let hash = signer.default_algorithm().hash;
    let mut digests: Vec<Digest> = Vec::with_capacity(jobs.len());
    for job in &jobs {
        digests.push(crpki::crypto::digest_file(hash, &job.input).map_err(|e| report(Some(&job.input), e))?);
    }
    let output = OutputBatch::prepare(jobs.iter().map(|j| j.output.as_path()), existing)
        .map_err(|e| report(None, e))?;
    let chunk = signer.max_batch().unwrap_or(cms::DEFAULT_CHUNK).max(1);
    let mut signed = Vec::with_capacity(jobs.len());
    for (i, part) in digests.chunks(chunk).enumerate() {
        let cmss = cms::sign_digests(signer, part, &SignOptions::default())
            .await
            .map_err(|e| report(None, e))?;
        // Up to TSA_IN_FLIGHT requests at once, answers kept in order.
        let mut stamped =
            futures_util::stream::iter(cmss.iter().map(|cms| stamper.stamp(cms))).buffered(TSA_IN_FLIGHT);
        let mut j = 0;
        while let Some(result) = stamped.next().await {
            let job = &jobs[i * chunk + j];
            signed.push(result.map_err(|e| report(Some(&job.input), e))?);
            j += 1;
        }
    }
    output.commit(&signed).map_err(|e| report(None, e))?;
    if show.json {
        for job in &jobs {
            json_line(Some(&job.input), Some(&job.output), Some(&subject), None);
        }
    }
    Ok(jobs.len() as u64)
}

/// `crpki verify`'s text lines about a timestamp.
pub fn print(ts: &Timestamp) {
    let trust = if ts.trusted {
        "trusted (--tsa-ca); certificates validated at this time"
    } else {
        "NOT trusted: no --tsa-ca given; certificates validated now"
    };
    out!(
        "timestamp:     {} by {} ({trust})",
        ts.gen_time_rfc3339(),
        ts.tsa_name
    );
    out!("timestamp serial: {}", ts.serial_hex);
}

/// `crpki verify --json`'s `timestamp` value.
pub fn json(ts: Option<&Timestamp>) -> serde_json::Value {
    match ts {
        None => serde_json::Value::Null,
        Some(ts) => serde_json::json!({
            "time": ts.gen_time_rfc3339(),
            "tsa": ts.tsa_name,
            "serial": ts.serial_hex,
            "policy": ts.policy.to_string(),
            "trusted": ts.trusted,
            "imprint_algorithm": ts.imprint.algorithm().to_string(),
        }),
    }
}

/// The TSA roots of `crpki verify --tsa-ca`.
pub fn tsa_roots(files: &[PathBuf]) -> CliResult<Vec<Certificate>> {
    load_roots(files)
}

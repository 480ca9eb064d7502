//! `crpki sign --timestamp` (CAdES-T) and the timestamp part of `crpki
//! verify`'s report.
//!
//! A timestamped batch goes through the pipeline like any other
//! (`PipelineOptions::timestamps`): each chunk is signed with one call to
//! the signer, then each signature is timestamped with its own request to
//! the TSA (RFC 3161 stamps one imprint per request; up to
//! `crpki::cms::TSA_IN_FLIGHT` at once), and the outputs appear all together,
//! durably, or not at all.

use std::path::PathBuf;
use std::sync::Arc;

use crpki::Certificate;
use crpki::cms;
use crpki::crypto::HashAlgorithm;
use crpki::http::{TransportConfig, http_client};
use crpki::profile::{Profile, ProfileStore};
use crpki::tsp::{Timestamp, TsaClient};

use crate::{CliResult, fail, load_roots};

/// The TSA a `crpki sign --timestamp` asks.
pub struct Stamper {
    client: Arc<TsaClient>,
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
            client: Arc::new(client),
            hash: HashAlgorithm::Sha256,
        }))
    }

    /// The TSA, for the pipeline.
    pub fn client(&self) -> Arc<TsaClient> {
        Arc::clone(&self.client)
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

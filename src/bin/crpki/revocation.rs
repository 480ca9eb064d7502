//! `--revocation require|prefer|off` of `crpki verify`: the signer's
//! validated chain checked with OCSP, then CRLs, through the profile's
//! transport.

use crpki::Certificate;
use crpki::http::{TransportConfig, http_client};
use crpki::revocation::{ChainRevocation, CheckOptions, RevocationClient, RevocationPolicy};

use crate::{CliResult, manage};

/// What a check found, for the text and JSON output.
pub struct Checked {
    /// The policy applied.
    pub policy: RevocationPolicy,
    /// Per certificate (none when the policy is off).
    pub result: ChainRevocation,
    /// What `prefer` lets pass (shown on stderr, and in `--json`).
    pub warnings: Vec<String>,
}

impl Checked {
    /// The `revocation` member of `crpki verify --json`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "policy": self.policy.to_string(),
            "certificates": self.result.certificates,
            "warnings": self.warnings,
        })
    }
}

/// The transport for revocation requests: the profile's proxy and extra
/// CA files (the sandbox's TLS CA for the `sandbox` profile), plus the
/// system's roots, since responders are public services; without a usable
/// profile, the defaults.
pub fn transport(profile_flag: Option<&str>) -> TransportConfig {
    let profile = manage::open_store().ok().and_then(|store| {
        let name = match profile_flag {
            Some(p) => p.to_owned(),
            None => store
                .current_name()
                .ok()
                .flatten()
                .unwrap_or_else(|| manage::DEFAULT_PROFILE.to_owned()),
        };
        store.resolve(&name).ok()
    });
    match profile.as_ref().map(TransportConfig::from_profile) {
        Some(Ok(mut config)) => {
            config.trust_system_roots = true;
            config
        }
        _ => {
            tracing::debug!("revocation: no usable profile, the default transport is used");
            TransportConfig::default()
        }
    }
}

/// Checks `chain` (the validated chain, signer first) under `policy`: a
/// revoked certificate, or under `require` one without a usable answer,
/// is the error (exit code 3); one revoked after `existed_at` (when a
/// trusted timestamp proves the signature existed) is a warning.
pub async fn check(
    chain: &[Certificate],
    policy: RevocationPolicy,
    existed_at: Option<std::time::SystemTime>,
    transport: &TransportConfig,
) -> CliResult<Checked> {
    if policy == RevocationPolicy::Off {
        return Ok(Checked {
            policy,
            result: ChainRevocation::default(),
            warnings: Vec::new(),
        });
    }
    let client = RevocationClient::new(http_client(transport)?);
    let (result, _data) = client.check_chain(chain, &CheckOptions::default()).await;
    let warnings = result.enforce_at(policy, existed_at)?;
    Ok(Checked {
        policy,
        result,
        warnings,
    })
}

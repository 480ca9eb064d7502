//! The transport a profile describes, for [`crate::http`] (which knows
//! nothing of profiles).

use std::path::Path;

use super::Profile;
use crate::error::{Error, Result};
use crate::http::{ProxyConfig, TransportConfig};

impl TransportConfig {
    /// The transport a profile describes: its extra CA files read, its
    /// proxy password resolved. A sandbox profile trusts only its CAs.
    pub fn from_profile(profile: &Profile) -> Result<Self> {
        // A sandbox is reached only through its own CA, so that a sandbox
        // profile cannot talk to a real service by mistake.
        let mut config = Self {
            trust_system_roots: !profile.sandbox || profile.extra_ca_files.is_empty(),
            ..Self::default()
        };
        for file in &profile.extra_ca_files {
            config.extra_ca_pem.push(read_ca_file(file)?);
        }
        if let Some(p) = &profile.proxy {
            let password = match &p.password {
                Some(r) => Some(r.resolve(&format!("proxy password of profile {}", profile.name))?),
                None => None,
            };
            config.proxy = Some(ProxyConfig {
                url: p.url.clone(),
                user: p.user.clone(),
                password,
                no_proxy: p.no_proxy.clone(),
            });
        }
        Ok(config)
    }
}

fn read_ca_file(path: &Path) -> Result<Vec<u8>> {
    let pem = std::fs::read(path).map_err(|e| Error::io(format!("reading CA file {}", path.display()), e))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        Ok(_) => Err(Error::Config {
            detail: format!("CA file {} holds no PEM certificate", path.display()),
        }),
        Err(e) => Err(Error::Config {
            detail: format!("CA file {}: {e}", path.display()),
        }),
    }
}

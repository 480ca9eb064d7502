//! Credential authorization: how a signing credential is unlocked for a
//! number of signatures, per its `auth.mode` (v1 `authMode`).
//!
//! - [`ExplicitAuthorizer`]: `credentials/authorize` with the PIN/OTP the
//!   user types, asked through a [`SecretPrompt`] the caller supplies (the
//!   CLI prompts on the terminal; pipelines use [`StaticSecrets`]).
//! - [`OAuth2CodeAuthorizer`]: the OAuth 2.0 `credential` scope, approved in
//!   a browser (the [`BrowserLauncher`] seam of [`crate::auth`]); the
//!   resulting credential token replaces the SAD. With SCAL 2 the hashes go
//!   into the authorization request, so the approval covers exactly them.
//! - [`ImplicitAuthorizer`]: `credentials/authorize` without user input.
//! - [`ModeAuthorizer`]: picks one of the above from the credential's mode.
//!
//! What an authorization is reused for (the SAD cache, extension with
//! `credentials/extendTransaction`) is the signer's business, not this
//! module's.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::client::CscClient;
use super::model::{Activation, AuthInput, AuthInputKind, AuthMode, AuthorizeCall, CredentialDescription};
use crate::auth::BrowserLauncher;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::signer::{Digest, HashAlgorithm};

/// Default time the user has to approve a credential authorization in the browser.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(300);

/// What is being authorized.
#[derive(Clone, Copy, Debug)]
pub struct AuthorizationContext<'a> {
    /// The client to authorize through.
    pub client: &'a CscClient,
    /// The credential.
    pub credential: &'a CredentialDescription,
    /// Signatures to authorize.
    pub num_signatures: u32,
    /// The exact hashes, when the authorization must be bound to them
    /// (SCAL 2); then `num_signatures` is their number.
    pub hashes: Option<&'a [Digest]>,
    /// The hash algorithm of the digests that will be signed.
    pub hash_algorithm: HashAlgorithm,
    /// A description of the operation, shown to the user where the
    /// service shows one.
    pub description: Option<&'a str>,
}

/// An authorization: what activates `signHash`, for how many signatures,
/// for how long.
#[derive(Clone, Debug)]
pub struct CredentialAuthorization {
    /// The SAD or the credential token.
    pub activation: Activation,
    /// Signatures it allows.
    pub num_signatures: u32,
    /// Its lifetime, when the service said.
    pub expires_in: Option<Duration>,
    /// Whether it is bound to the exact hashes it was asked for.
    pub bound_to_hashes: bool,
}

/// A way to authorize a credential. Object safe.
#[async_trait]
pub trait CredentialAuthorizer: Send + Sync + fmt::Debug {
    /// Obtains an authorization for `context`.
    async fn authorize(&self, context: &AuthorizationContext<'_>) -> Result<CredentialAuthorization>;
}

/// What a [`SecretPrompt`] is asked for.
#[derive(Clone, Copy, Debug)]
pub struct PromptRequest<'a> {
    /// The credential.
    pub credential: &'a CredentialDescription,
    /// The input (PIN, OTP) with the service's label and description.
    pub input: &'a AuthInput,
    /// Signatures the authorization will allow.
    pub num_signatures: u32,
}

/// Asks the user for a PIN or one-time password. Object safe.
#[async_trait]
pub trait SecretPrompt: Send + Sync + fmt::Debug {
    /// The value for `request.input`; an empty value for an optional input
    /// leaves it out. [`Error::Cancelled`] when the user gives up.
    async fn ask(&self, request: &PromptRequest<'_>) -> Result<Secret>;
}

/// Fixed answers by input id (`PIN`, `OTP`, compared case-insensitively),
/// for pipelines and tests. A missing required one is
/// [`Error::InteractionRequired`].
#[derive(Clone, Default)]
pub struct StaticSecrets {
    values: HashMap<String, Secret>,
}

impl fmt::Debug for StaticSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.values.keys().collect();
        ids.sort();
        f.debug_struct("StaticSecrets").field("ids", &ids).finish()
    }
}

impl StaticSecrets {
    /// No answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the answer for input `id`.
    pub fn with(mut self, id: &str, value: impl Into<Secret>) -> Self {
        self.values.insert(id.to_ascii_uppercase(), value.into());
        self
    }
}

#[async_trait]
impl SecretPrompt for StaticSecrets {
    async fn ask(&self, request: &PromptRequest<'_>) -> Result<Secret> {
        match self.values.get(&request.input.id.to_ascii_uppercase()) {
            Some(v) => Ok(v.clone()),
            None if request.input.optional => Ok(Secret::new("")),
            None => Err(Error::InteractionRequired {
                detail: format!(
                    "credential {} needs the {} and none was supplied",
                    request.credential.id, request.input.id
                ),
            }),
        }
    }
}

/// `credentials/authorize` without user input (`implicit` mode).
#[derive(Clone, Copy, Debug, Default)]
pub struct ImplicitAuthorizer;

#[async_trait]
impl CredentialAuthorizer for ImplicitAuthorizer {
    async fn authorize(&self, context: &AuthorizationContext<'_>) -> Result<CredentialAuthorization> {
        authorize_with(context, &[]).await
    }
}

async fn authorize_with(
    context: &AuthorizationContext<'_>,
    auth_data: &[(String, Secret)],
) -> Result<CredentialAuthorization> {
    let sad = context
        .client
        .authorize(&AuthorizeCall {
            credential_id: &context.credential.id,
            num_signatures: context.num_signatures,
            hashes: context.hashes,
            auth_data,
            description: context.description,
        })
        .await?;
    Ok(CredentialAuthorization {
        activation: Activation::Sad(sad.sad),
        num_signatures: context.num_signatures,
        expires_in: sad.expires_in,
        bound_to_hashes: context.hashes.is_some(),
    })
}

/// `credentials/authorize` with the PIN/OTP the credential asks for,
/// obtained from a [`SecretPrompt`]. A rejected value is
/// [`Error::InvalidOtp`] (not retried: the caller decides whether to ask
/// again, since services lock credentials after a few failures).
#[derive(Clone, Debug)]
pub struct ExplicitAuthorizer {
    prompt: Arc<dyn SecretPrompt>,
}

impl ExplicitAuthorizer {
    /// Asks through `prompt`.
    pub fn new(prompt: Arc<dyn SecretPrompt>) -> Self {
        Self { prompt }
    }
}

#[async_trait]
impl CredentialAuthorizer for ExplicitAuthorizer {
    async fn authorize(&self, context: &AuthorizationContext<'_>) -> Result<CredentialAuthorization> {
        let inputs: &[AuthInput] = match &context.credential.auth_mode {
            AuthMode::Explicit { inputs, .. } => inputs,
            AuthMode::Implicit => &[],
            other => {
                return Err(Error::unsupported(format!(
                    "explicit authorization of credential {}, whose mode is {other:?}",
                    context.credential.id
                )));
            }
        };
        let mut data = Vec::with_capacity(inputs.len());
        for input in inputs {
            let value = self
                .prompt
                .ask(&PromptRequest {
                    credential: context.credential,
                    input,
                    num_signatures: context.num_signatures,
                })
                .await?;
            if value.is_empty() {
                if input.optional {
                    continue;
                }
                return Err(Error::InvalidOtp {
                    detail: format!("an empty {} was given", input.id),
                });
            }
            data.push((input.id.clone(), value));
        }
        authorize_with(context, &data).await
    }
}

/// The OAuth 2.0 `credential` scope: the user approves in a browser (or
/// the RSSP approves by itself, as the sandbox's auto-approve does), and
/// the credential token replaces the SAD.
#[derive(Clone, Debug)]
pub struct OAuth2CodeAuthorizer {
    launcher: Arc<dyn BrowserLauncher>,
    timeout: Duration,
}

impl OAuth2CodeAuthorizer {
    /// Opens the authorization page through `launcher`.
    pub fn new(launcher: Arc<dyn BrowserLauncher>) -> Self {
        Self {
            launcher,
            timeout: DEFAULT_APPROVAL_TIMEOUT,
        }
    }

    /// How long the user has to approve.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[async_trait]
impl CredentialAuthorizer for OAuth2CodeAuthorizer {
    async fn authorize(&self, context: &AuthorizationContext<'_>) -> Result<CredentialAuthorization> {
        let client = context.client;
        let mut extra: Vec<(&str, String)> = vec![
            ("scope", "credential".into()),
            ("credentialID", context.credential.id.clone()),
            ("numSignatures", context.num_signatures.to_string()),
        ];
        if let Some(hashes) = context.hashes.filter(|h| !h.is_empty()) {
            // Query parameters: base64url, comma-separated.
            let list = hashes
                .iter()
                .map(|d| URL_SAFE_NO_PAD.encode(d.as_bytes()))
                .collect::<Vec<_>>()
                .join(",");
            extra.extend(
                client
                    .wire()
                    .credential_scope_hashes(list, context.hash_algorithm),
            );
        }
        if let Some(d) = context.description {
            extra.push(("description", d.to_owned()));
        }
        let r = client
            .oauth2_code_flow(self.launcher.as_ref(), &extra, self.timeout)
            .await?;
        if let Some(id) = &r.credential_id
            && id != &context.credential.id
        {
            return Err(Error::Protocol {
                service: client.service_name().to_owned(),
                detail: format!(
                    "the credential token is for credential {id:?}, not {:?}",
                    context.credential.id
                ),
            });
        }
        if let Some(scope) = &r.scope
            && !scope.split(' ').any(|s| s == "credential")
        {
            return Err(Error::Protocol {
                service: client.service_name().to_owned(),
                detail: "the token granted for a credential authorization is not of scope credential".into(),
            });
        }
        Ok(CredentialAuthorization {
            activation: Activation::CredentialToken(r.access_token.clone()),
            num_signatures: context.num_signatures,
            expires_in: r.expires_in.map(Duration::from_secs),
            bound_to_hashes: context.hashes.is_some(),
        })
    }
}

/// Picks the strategy from the credential's mode: implicit as is,
/// explicit through the prompt, `oauth2code` through the browser. A mode
/// whose means was not given is [`Error::InteractionRequired`].
#[derive(Clone, Debug, Default)]
pub struct ModeAuthorizer {
    prompt: Option<Arc<dyn SecretPrompt>>,
    browser: Option<Arc<dyn BrowserLauncher>>,
    approval_timeout: Option<Duration>,
}

impl ModeAuthorizer {
    /// Implicit mode only, until a prompt or browser is added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks PINs/OTPs through `prompt` (explicit mode).
    pub fn with_prompt(mut self, prompt: Arc<dyn SecretPrompt>) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Opens approvals through `browser` (`oauth2code` mode).
    pub fn with_browser(mut self, browser: Arc<dyn BrowserLauncher>) -> Self {
        self.browser = Some(browser);
        self
    }

    /// How long the user has to approve in the browser.
    pub fn with_approval_timeout(mut self, timeout: Duration) -> Self {
        self.approval_timeout = Some(timeout);
        self
    }
}

#[async_trait]
impl CredentialAuthorizer for ModeAuthorizer {
    async fn authorize(&self, context: &AuthorizationContext<'_>) -> Result<CredentialAuthorization> {
        let id = &context.credential.id;
        match &context.credential.auth_mode {
            AuthMode::Implicit => ImplicitAuthorizer.authorize(context).await,
            AuthMode::Explicit { inputs, .. } => {
                if inputs.iter().all(|i| i.optional) && self.prompt.is_none() {
                    return ImplicitAuthorizer.authorize(context).await;
                }
                let prompt = self.prompt.clone().ok_or_else(|| Error::InteractionRequired {
                    detail: format!(
                        "credential {id} needs {} to sign, and no prompt is available",
                        describe_inputs(inputs)
                    ),
                })?;
                ExplicitAuthorizer::new(prompt).authorize(context).await
            }
            AuthMode::OAuth2Code => {
                let browser = self.browser.clone().ok_or_else(|| Error::InteractionRequired {
                    detail: format!("credential {id} is authorized in a web browser, and none is available"),
                })?;
                let mut a = OAuth2CodeAuthorizer::new(browser);
                if let Some(t) = self.approval_timeout {
                    a = a.with_timeout(t);
                }
                a.authorize(context).await
            }
            AuthMode::Other(mode) if mode.is_empty() => Err(Error::unsupported(format!(
                "credential {id}: the service did not say how it is authorized"
            ))),
            AuthMode::Other(mode) => Err(Error::unsupported(format!(
                "credential {id}: authorization mode {mode:?}"
            ))),
        }
    }
}

fn describe_inputs(inputs: &[AuthInput]) -> String {
    let names: Vec<&str> = inputs
        .iter()
        .filter(|i| !i.optional)
        .map(|i| match &i.kind {
            AuthInputKind::Pin => "a PIN",
            AuthInputKind::Otp => "a one-time password",
            AuthInputKind::Other(_) => i.id.as_str(),
        })
        .collect();
    if names.is_empty() {
        "user input".into()
    } else {
        names.join(" and ")
    }
}

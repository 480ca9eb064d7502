//! Cloud Signature Consortium API: the wire types (v2, and v1.0.4.0
//! compatibility), the client, the credential authorization strategies and
//! the remote [`RemoteSigner`](crate::RemoteSigner) backend.
//!
//! This room talks to the RSSP only, through [`crate::http`]; the service access token
//! comes from an [`AccessTokenSource`](crate::auth::AccessTokenSource)
//! (the GビズID login's [`TokenCache`](crate::auth::TokenCache), or one of
//! the sources in [`service_auth`]). It never reads profiles or token files
//! itself, except in the `for_profile` helpers that only read a
//! [`Profile`](crate::profile::Profile) value.
//!
//! - [`wire`]: the JSON bodies of every method as they travel on the wire
//!   ([`wire::v2`], and the v1.0.4.0 shapes that differ in [`wire::v1`]),
//!   shared with the sandbox server; and the client's adapter per version,
//!   which shapes requests and reads replies.
//! - `model`: what a credential is, the same for both versions
//!   ([`CredentialDescription`], [`AuthMode`], [`Scal`], [`Sad`], …).
//! - `exchange`: one authenticated POST (bearer refreshed once, retries
//!   through [`crate::http`], error replies through [`error_from_reply`]).
//! - `client`: [`CscClient`], one typed method per CSC method.
//! - `oauth`: the RSSP's OAuth 2.0 server (`oauth2/authorize`, `token`,
//!   `revoke`) and the [`ServiceToken`].
//! - `errors`: the one function that turns an error reply into a
//!   [`crate::Error`] ([`error_from_reply`]).
//! - `authorize`: how a credential is authorized per `auth.mode`
//!   ([`CredentialAuthorizer`]: explicit PIN/OTP, `oauth2code`, implicit).
//! - [`service_auth`]: where the service access token comes from.
//! - `signer`: [`CscSigner`], the [`RemoteSigner`](crate::RemoteSigner)
//!   over one credential, and credential selection.
//!
//! ```no_run
//! # async fn demo() -> crpki::Result<()> {
//! use std::sync::Arc;
//! use crpki::http::{TransportConfig, http_client};
//! use crpki::csc::{CscClient, CscSigner, CscVersion, ModeAuthorizer, StaticTokenSource};
//! use crpki::{RemoteSigner, HashAlgorithm};
//!
//! let http = http_client(&TransportConfig::default())?;
//! let client = CscClient::new(http, "https://rssp.example/csc/v2/", CscVersion::V2)?
//!     .with_token_source(Arc::new(StaticTokenSource::new("access token")));
//! let credentials = client.list_credentials().await?;
//! let chosen = crpki::csc::select_credential(&credentials, None)?;
//! let authorizer = Arc::new(ModeAuthorizer::new());
//! let signer = CscSigner::from_description(Arc::new(client), chosen.clone(), authorizer, Default::default())?;
//! let digest = HashAlgorithm::Sha256.digest(b"document");
//! let signatures = signer.sign_digests(signer.default_algorithm(), &[digest]).await?;
//! # let _ = signatures; Ok(()) }
//! ```

// Without `remote` only the wire types are here, and the overview above
// names rooms that are compiled out.
#![cfg_attr(not(feature = "remote"), allow(rustdoc::broken_intra_doc_links))]

pub mod wire;

#[cfg(feature = "remote")]
mod authorize;
#[cfg(feature = "remote")]
mod client;
#[cfg(feature = "remote")]
mod errors;
#[cfg(feature = "remote")]
mod exchange;
#[cfg(feature = "remote")]
mod model;
#[cfg(feature = "remote")]
mod oauth;
#[cfg(feature = "remote")]
pub mod service_auth;
#[cfg(feature = "remote")]
mod signer;

#[cfg(feature = "remote")]
pub use crate::http::{RequestFlags, RetryConfig};
pub use crate::profile::CscVersion;
#[cfg(feature = "remote")]
pub use authorize::DEFAULT_APPROVAL_TIMEOUT;
#[cfg(feature = "remote")]
pub use authorize::{
    AuthorizationContext, CredentialAuthorization, CredentialAuthorizer, ExplicitAuthorizer,
    ImplicitAuthorizer, ModeAuthorizer, OAuth2CodeAuthorizer, PromptRequest, SecretPrompt, StaticSecrets,
};
#[cfg(feature = "remote")]
pub use client::CscClient;
#[cfg(feature = "remote")]
pub use errors::error_from_reply;
#[cfg(feature = "remote")]
pub use model::{
    Activation, AuthInput, AuthInputKind, AuthMode, AuthorizeCall, CertificateStatus, CredentialDescription,
    CscSignAlgorithm, Sad, Scal, SignHashCall,
};
#[cfg(feature = "remote")]
pub use oauth::{OAuthClientConfig, ServiceToken};
#[cfg(feature = "remote")]
pub use service_auth::{BasicLoginSource, RsspOAuth2Source, StaticTokenSource};
#[cfg(feature = "remote")]
pub use signer::{CscSigner, SignerOptions, connect_signer, select_credential};
pub use wire::v2::ErrorBody;
#[cfg(feature = "remote")]
pub use wire::version_from_specs;

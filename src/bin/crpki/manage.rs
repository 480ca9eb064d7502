//! The management tool's part of `crpki` (seed §3.3): profiles, proxy,
//! GビズID login and logout, and the local sandbox server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use crpki::Error;
use crpki::auth::{Authenticator, LoginOptions, Revocation, SystemBrowser};
use crpki::profile::{
    CscVersion, Profile, ProfileStore, ProxySettings, SANDBOX_PROFILE, SecretRef, ServiceAuth,
};

use crate::{CliResult, Context, fail};

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// List the profiles (the current one is marked with *).
    List,
    /// Make NAME the current profile.
    Use {
        /// The profile.
        name: String,
    },
    /// Show a profile's settings (never a secret).
    Show {
        /// The profile (default: the current one).
        name: Option<String>,
    },
    /// Add a profile for a remote signing service.
    Add {
        /// The new profile's name.
        name: String,
        #[command(flatten)]
        settings: ProfileSettings,
    },
    /// Change settings of a profile.
    Edit {
        /// The profile.
        name: String,
        #[command(flatten)]
        settings: ProfileSettings,
    },
    /// Remove a profile and its stored tokens.
    Remove {
        /// The profile.
        name: String,
    },
}

#[derive(Args, Default)]
pub struct ProfileSettings {
    /// OpenID (GビズID) issuer, exactly as the provider spells it (e.g. https://gbiz-id.go.jp/oauth/).
    #[arg(long)]
    issuer: Option<String>,
    /// OpenID client id registered for this application.
    #[arg(long)]
    client_id: Option<String>,
    /// Read the OpenID client secret from this environment variable.
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,
    /// The RSSP's CSC API root (e.g. https://rssp.example/csc/v2/).
    #[arg(long)]
    rssp: Option<String>,
    /// CSC API version of the RSSP.
    #[arg(long, value_parser = ["v2", "v1"])]
    csc_version: Option<String>,
    /// How the RSSP is authorized: `gbiz` (GビズID login, default), `basic:USER`
    /// (CSC auth/login), `oauth2` (the RSSP's own OAuth2), `env:VAR` (a bearer
    /// token from an environment variable), `none` (no Authorization header).
    /// Only `gbiz` needs --issuer and --client-id (`oauth2`: --client-id).
    #[arg(long, value_name = "MODE")]
    service_auth: Option<String>,
    /// A PEM file of extra CA certificates to trust (repeatable).
    #[arg(long, value_name = "PEM")]
    extra_ca: Vec<PathBuf>,
    /// A description shown by `profile list`.
    #[arg(long)]
    description: Option<String>,
    /// The loopback redirect URI registered with the OpenID provider
    /// (http://127.0.0.1:PORT/PATH, http://localhost:PORT/PATH or
    /// http://[::1]:PORT/PATH); `random` for a random port (the default).
    #[arg(long, value_name = "URI")]
    redirect_uri: Option<String>,
    /// Client authentication at the token endpoint: client_secret_basic,
    /// client_secret_post, or `auto` (chosen from the provider's discovery).
    #[arg(long, value_name = "METHOD")]
    client_auth: Option<String>,
    /// Scopes to request (repeatable, or space-separated); openid and
    /// offline_access are always added.
    #[arg(long, value_name = "SCOPE")]
    scope: Vec<String>,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Proxy settings for reaching GビズID and the RSSP.
    #[command(subcommand)]
    Proxy(ProxyCommand),
    /// Show the current profile's settings.
    Show,
}

#[derive(Subcommand)]
pub enum ProxyCommand {
    /// Use an HTTP(S) proxy.
    Set {
        /// The proxy, e.g. http://proxy.example:8080.
        url: String,
        /// Hosts reached directly, comma-separated (names, IPs, CIDR blocks).
        #[arg(long, value_delimiter = ',')]
        no_proxy: Vec<String>,
        /// User name for the proxy.
        #[arg(long)]
        user: Option<String>,
        /// Read the proxy password from this environment variable.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// Connect directly.
    Clear,
}

#[derive(Args)]
pub struct LoginArgs {
    /// Do not open a browser; only print the URL to open.
    #[arg(long)]
    no_browser: bool,
    /// Ask GビズID to show the login form even when a session exists.
    #[arg(long)]
    prompt_login: bool,
    /// The account to log in as (GビズID: its e-mail address; sandbox: a user name).
    #[arg(long)]
    login_hint: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

#[derive(Subcommand)]
pub enum SandboxCommand {
    /// Run the sandbox (CSC RSSP + GビズID-style provider) on loopback until Ctrl-C.
    Serve {
        /// Address to listen on (loopback only).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// State directory (keys, users; default: the one the `sandbox` profile reads).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Serve plain HTTP instead of HTTPS (debugging only).
        #[arg(long)]
        http: bool,
        /// Show the login and consent page instead of approving automatically.
        #[arg(long)]
        no_auto_approve: bool,
    },
}

pub fn profile(ctx: &Context, command: ProfileCommand) -> CliResult {
    let store = &ctx.store;
    match command {
        ProfileCommand::List => {
            let current = ctx.profile_name()?;
            for p in store.list()? {
                let mark = if p.name == current { "*" } else { " " };
                let kind = if p.sandbox {
                    "  [SANDBOX: test service]"
                } else {
                    ""
                };
                let desc = p.description.as_deref().unwrap_or("");
                out!("{mark} {}{kind}  {desc}", p.name);
            }
        }
        ProfileCommand::Use { name } => {
            store.use_profile(&name)?;
            out!("current profile: {name}");
        }
        ProfileCommand::Show { name } => {
            let name = match name {
                Some(n) => n,
                None => ctx.profile_name()?,
            };
            show_profile(&store.get(&name)?)?;
        }
        ProfileCommand::Add { name, settings } => {
            // Only the GビズID login needs the OpenID provider (and the
            // RSSP's own OAuth2 a client id): see Profile::validate.
            let mode = match &settings.service_auth {
                Some(v) => parse_service_auth(v)?,
                None => ServiceAuth::GbizLogin,
            };
            let Some(rssp) = settings.rssp.clone() else {
                return Err(fail("profile add needs --rssp"));
            };
            if mode.uses_gbiz() && (settings.issuer.is_none() || settings.client_id.is_none()) {
                return Err(fail(
                    "profile add needs --issuer and --client-id for the GビズID login (or a --service-auth that \
                     does not use it: basic:USER, env:VAR, oauth2, none)",
                ));
            }
            let issuer = settings.issuer.clone().unwrap_or_default();
            let client_id = settings.client_id.clone().unwrap_or_default();
            let mut p = Profile::new(&name, issuer, client_id, rssp);
            apply(&mut p, settings)?;
            p.validate()?;
            // Only a profile that logs in through the OpenID provider has an issuer to check.
            let hint = p.rssp.service_auth.uses_gbiz().then(|| issuer_hint(&p)).flatten();
            let step = crpki::csc::service_auth::next_step(&p);
            store.add(p)?;
            out!("added profile {name} (make it current with `crpki profile use {name}`)");
            out!("next: {step}");
            if let Some(named) = hint {
                eprintln!(
                    "warning: the provider's discovery document names its issuer {named} (with the trailing \
                     slash): ID tokens carry that exact string, so logins will fail; fix it with \
                     `crpki profile edit {name} --issuer {named}`"
                );
            }
        }
        ProfileCommand::Edit { name, settings } => {
            store.edit(&name, |p| apply(p, settings))?;
            out!("updated profile {name}");
        }
        ProfileCommand::Remove { name } => {
            store.remove(&name)?;
            out!("removed profile {name} and its stored tokens");
        }
    }
    Ok(())
}

fn apply(p: &mut Profile, s: ProfileSettings) -> crpki::Result<()> {
    // Refuse a plain-HTTP or malformed endpoint when it is stored, not at
    // the first request.
    for url in [&s.issuer, &s.rssp].into_iter().flatten() {
        crpki::auth::check_endpoint(url)?;
    }
    if let Some(v) = s.issuer {
        p.oidc.issuer = v;
    }
    if let Some(v) = s.client_id {
        p.oidc.client_id = v;
    }
    if let Some(v) = s.client_secret_env {
        p.oidc.client_secret = Some(SecretRef::Env(v));
    }
    if let Some(v) = s.rssp {
        p.rssp.base_url = v;
    }
    if let Some(v) = s.csc_version {
        p.rssp.api_version = if v == "v1" { CscVersion::V1 } else { CscVersion::V2 };
    }
    if let Some(v) = s.service_auth {
        p.rssp.service_auth = parse_service_auth(&v)?;
    }
    if !s.extra_ca.is_empty() {
        p.extra_ca_files = s.extra_ca;
    }
    if let Some(v) = s.description {
        p.description = Some(v);
    }
    if let Some(v) = s.redirect_uri {
        p.oidc.redirect_uri = match v.as_str() {
            "random" | "" => None,
            _ => Some(crpki::auth::RedirectTarget::parse(&v)?.as_str().to_owned()),
        };
    }
    if let Some(v) = s.client_auth {
        p.oidc.client_auth = match v.as_str() {
            "auto" | "" => None,
            _ => Some(v.parse()?),
        };
    }
    if !s.scope.is_empty() {
        p.oidc.scopes = s
            .scope
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect();
    }
    Ok(())
}

/// The issuer as the provider spells it, when the profile's lacks (or
/// adds) only its trailing slash. Best effort: an unreachable provider
/// gives no hint (`profile add` works offline).
fn issuer_hint(p: &Profile) -> Option<String> {
    let check = async {
        // A quick look: an unreachable provider must not hold `profile add` up.
        let transport = crpki::auth::TransportConfig {
            timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(3),
            ..crpki::auth::TransportConfig::from_profile(p)?
        };
        let http = crpki::auth::http_client(&transport)?;
        let client = crpki::auth::OidcClient::new(http, crpki::auth::OidcConfig::from_profile(p)?)?;
        client.issuer_spelling_hint().await
    };
    let runtime = tokio::runtime::Handle::current();
    match tokio::task::block_in_place(|| runtime.block_on(check)) {
        Ok(hint) => hint,
        Err(e) => {
            tracing::debug!("no discovery check of the issuer: {e}");
            None
        }
    }
}

fn parse_service_auth(v: &str) -> crpki::Result<ServiceAuth> {
    Ok(match v.split_once(':') {
        None if v == "gbiz" => ServiceAuth::GbizLogin,
        None if v == "oauth2" => ServiceAuth::RsspOauth2,
        Some(("basic", user)) if !user.is_empty() => ServiceAuth::CscBasic {
            user: user.to_owned(),
            password: None,
        },
        Some(("env", var)) if !var.is_empty() => ServiceAuth::BearerEnv { var: var.to_owned() },
        None if v == "none" => ServiceAuth::None,
        _ => {
            return Err(Error::Config {
                detail: format!("--service-auth {v:?}: use gbiz, basic:USER, oauth2, env:VAR or none"),
            });
        }
    })
}

fn show_profile(p: &Profile) -> CliResult {
    if p.sandbox {
        out!(
            "profile:        {}  [SANDBOX: local test service, signatures have no legal effect]",
            p.name
        );
    } else {
        out!("profile:        {}", p.name);
    }
    let or_unset = |s: &str| {
        if s.is_empty() {
            "(set when the sandbox runs)".to_owned()
        } else {
            s.to_owned()
        }
    };
    out!("OpenID issuer:  {}", or_unset(&p.oidc.issuer));
    out!("client id:      {}", or_unset(&p.oidc.client_id));
    out!(
        "redirect URI:   {}",
        p.oidc
            .redirect_uri
            .as_deref()
            .unwrap_or("http://127.0.0.1:<random port>/crpki/callback")
    );
    out!(
        "client auth:    {}",
        p.oidc
            .client_auth
            .map(|m| m.as_str())
            .unwrap_or("auto (from the provider's discovery)")
    );
    out!("scopes:         {}", p.oidc.scopes.join(" "));
    out!(
        "RSSP:           {} (CSC {})",
        or_unset(&p.rssp.base_url),
        p.rssp.api_version
    );
    let auth = match &p.rssp.service_auth {
        ServiceAuth::GbizLogin => "GビズID login".to_owned(),
        ServiceAuth::CscBasic { user, .. } => format!("CSC auth/login as {user}"),
        ServiceAuth::RsspOauth2 => "the RSSP's OAuth2 (service scope)".to_owned(),
        ServiceAuth::BearerEnv { var } => format!("bearer token from ${var}"),
        ServiceAuth::None => "none (no Authorization header)".to_owned(),
    };
    out!("service auth:   {auth}");
    match &p.proxy {
        Some(proxy) => {
            let user = proxy
                .user
                .as_deref()
                .map(|u| format!(" (user {u})"))
                .unwrap_or_default();
            out!("proxy:          {}{user}", redact_url(&proxy.url));
            if !proxy.no_proxy.is_empty() {
                out!("no proxy for:   {}", proxy.no_proxy.join(","));
            }
        }
        None => out!("proxy:          none (direct)"),
    }
    for ca in &p.extra_ca_files {
        out!("extra CA:       {}", crpki::text::path(ca));
    }
    out!(
        "credential:     {}",
        p.credential_id
            .as_deref()
            .unwrap_or("(not chosen: automatic when there is exactly one)")
    );
    let provider = match p.windows_provider {
        crpki::profile::WindowsProvider::Csp => "csp (CryptoAPI)",
        crpki::profile::WindowsProvider::Ksp => "ksp (CNG)",
    };
    out!("Windows provider: {provider}");
    Ok(())
}

/// Drops `user:password@` from a URL before it is shown.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

pub fn config(ctx: &Context, command: ConfigCommand) -> CliResult {
    let name = ctx.profile_name()?;
    match command {
        ConfigCommand::Show => match ctx.store.resolve(&name) {
            Ok(p) => show_profile(&p),
            Err(_) => show_profile(&ctx.store.get(&name)?),
        },
        ConfigCommand::Proxy(ProxyCommand::Set {
            url,
            no_proxy,
            user,
            password_env,
        }) => {
            if url.contains('@') {
                return Err(fail(
                    "put proxy credentials in --user and --password-env, not in the URL (it would be stored in clear)",
                ));
            }
            ctx.store.edit(&name, |p| {
                p.proxy = Some(ProxySettings {
                    url: url.clone(),
                    user,
                    password: password_env.map(SecretRef::Env),
                    no_proxy,
                });
                Ok(())
            })?;
            out!("profile {name}: proxy {url}");
            Ok(())
        }
        ConfigCommand::Proxy(ProxyCommand::Clear) => {
            ctx.store.edit(&name, |p| {
                p.proxy = None;
                Ok(())
            })?;
            out!("profile {name}: no proxy (direct connections)");
            Ok(())
        }
    }
}

pub async fn login(ctx: &Context, args: LoginArgs) -> CliResult {
    let profile = ctx.resolved_profile()?;
    if !profile.rssp.service_auth.uses_gbiz() {
        let step = crpki::csc::service_auth::next_step(&profile);
        return Err(fail(format!(
            "profile {} does not log in with GビズID: {step}",
            profile.name
        )));
    }
    let auth = Authenticator::for_profile(&profile, Arc::new(ctx.store.token_store()))?;
    let options = LoginOptions {
        prompt: args.prompt_login.then(|| "login".to_owned()),
        login_hint: args.login_hint,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let announce =
        |url: &str| eprintln!("Log in with GビズID in your browser. If it did not open, visit:\n  {url}");
    let login = if args.no_browser {
        auth.login(&crate::PrintOnly, &options).await?
    } else {
        auth.login(&SystemBrowser::new().announce(announce), &options)
            .await?
    };
    out!(
        "logged in to profile {} (subject {})",
        profile.name,
        login.id_token.sub
    );
    // Who logged in, as the provider knows the account (GビズID: the
    // corporation); the login stands even if userinfo cannot be read.
    match auth.userinfo(&auth.token_cache()).await {
        Ok(info) => {
            let name = info
                .name
                .as_deref()
                .map(|v| crpki::text::escape_value(v).into_owned())
                .unwrap_or_else(|| "(none)".into());
            let number = info
                .corporate_number
                .as_deref()
                .map(|v| crpki::text::escape_value(v).into_owned())
                .unwrap_or_else(|| "(none)".into());
            out!("corporate name: {name}");
            out!("法人番号:       {number}");
        }
        Err(e) => eprintln!("note: could not read the account's details from userinfo: {e}"),
    }
    Ok(())
}

pub async fn logout(ctx: &Context) -> CliResult {
    let name = ctx.profile_name()?;
    // Logging out must work even when the service is unreachable.
    let profile = match ctx.resolved_profile() {
        Ok(p) => p,
        Err(_) => ctx.store.get(&name)?,
    };
    let auth = Authenticator::for_profile(&profile, Arc::new(ctx.store.token_store()));
    let store = ctx.store.token_store();
    let outcome = match auth {
        Ok(auth) => auth.logout().await?,
        // The service cannot be reached or configured: still forget locally.
        Err(e) => {
            let deleted = crpki::profile::TokenStore::delete(&store, &profile.name)?;
            eprintln!("note: could not reach the provider to revoke the tokens: {e}");
            crpki::auth::Logout {
                revocation: Revocation::NothingToRevoke,
                local_tokens_deleted: deleted,
            }
        }
    };
    match &outcome.revocation {
        Revocation::Revoked => out!("tokens revoked at the provider"),
        Revocation::NotOffered => out!("the provider offers no revocation; tokens forgotten locally"),
        Revocation::NothingToRevoke => {}
        Revocation::Failed(e) => eprintln!("warning: revocation failed ({e}); tokens forgotten locally"),
        _ => {}
    }
    if outcome.local_tokens_deleted {
        out!("logged out of profile {}", profile.name);
    } else {
        out!("profile {} was not logged in", profile.name);
    }
    crate::remote::after_logout(ctx, &profile);
    Ok(())
}

pub async fn sandbox(command: SandboxCommand) -> CliResult {
    match command {
        SandboxCommand::Serve {
            listen,
            state,
            http,
            no_auto_approve,
        } => {
            let state = state.unwrap_or_else(crpki::sandbox::default_state_dir);
            crpki::sandbox::serve_cli(listen, Some(state), http, !no_auto_approve).await?;
            Ok(())
        }
    }
}

/// The store to use: `$CRPKI_CONFIG_DIR` or the platform's config directory.
pub fn open_store() -> CliResult<ProfileStore> {
    Ok(ProfileStore::open_default()?)
}

/// The profile used when none was chosen: the sandbox.
pub const DEFAULT_PROFILE: &str = SANDBOX_PROFILE;

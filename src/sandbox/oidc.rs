//! The authorization server: a GビズID-style OpenID provider under
//! `/oauth/` and the CSC `oauth2/*` endpoints under `/csc/v2/` and
//! `/csc/v1/`. Both share one authorization-code machine (login and
//! consent page, PKCE S256, one-time codes bound to the redirect URI,
//! rotating refresh tokens) and differ only in what a code grants.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::api::{ApiError, ApiResult, bearer, now_secs, random_token, secret_eq};
use super::core::{AccessClaims, AuthCode, Flow, Grant, Pending, Shared, TokenKind};
use super::html;
pub(crate) use super::registration::redirect_allowed;
use super::registration::{client_auth, refresh_refused};
use super::state::CLIENT_ID;
use crate::csc::wire::v2::{CredentialAuthorizationDetails, RevokeRequest, TokenResponse};
use crate::profile::ClientAuthMethod;
use crate::secret::Secret;

/// Which front door an authorization request came through.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Door {
    Oidc,
    CscV2,
    CscV1,
}

impl Door {
    fn consent_path(self) -> &'static str {
        match self {
            Door::Oidc => "/oauth/authorize",
            Door::CscV2 => "/csc/v2/oauth2/authorize",
            Door::CscV1 => "/csc/v1/oauth2/authorize",
        }
    }
}

/// Query parameters of `authorize` (OIDC and CSC).
#[derive(Deserialize, Default, Debug)]
pub(crate) struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
    #[serde(rename = "credentialID")]
    credential_id: Option<String>,
    #[serde(rename = "numSignatures")]
    num_signatures: Option<String>,
    hashes: Option<String>,
    hash: Option<String>,
    #[serde(rename = "hashAlgorithmOID")]
    hash_algorithm_oid: Option<String>,
    authorization_details: Option<String>,
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    match reqwest::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            Redirect::to(url.as_str()).into_response()
        }
        Err(_) => (
            StatusCode::BAD_REQUEST,
            Html(html::error_page("Invalid redirect_uri")),
        )
            .into_response(),
    }
}

fn redirect_error(uri: &str, state: Option<&str>, code: &str, description: &str) -> Response {
    let mut p = vec![("error", code), ("error_description", description)];
    if let Some(s) = state {
        p.push(("state", s));
    }
    redirect_with(uri, &p)
}

/// `GET …/authorize`.
pub(crate) async fn authorize_get(shared: Arc<Shared>, door: Door, q: AuthorizeQuery) -> Response {
    // Errors about the client or the redirect URI are shown, never redirected.
    let client_id = q.client_id.clone().unwrap_or_default();
    if client_id != CLIENT_ID {
        return (
            StatusCode::BAD_REQUEST,
            Html(html::error_page("Unknown client_id")),
        )
            .into_response();
    }
    let Some(redirect_uri) = q
        .redirect_uri
        .clone()
        .filter(|r| redirect_allowed(&shared, door, r))
    else {
        // As strict providers do: an error page (never a redirect to the
        // unregistered URI), `invalid_request`.
        return (
            StatusCode::BAD_REQUEST,
            Html(html::error_page(
                "invalid_request: Invalid or unregistered redirect_uri (it must match a registered one exactly)",
            )),
        )
            .into_response();
    };
    let state = q.state.clone();
    let st = state.as_deref();
    if q.response_type.as_deref() != Some("code") {
        return redirect_error(
            &redirect_uri,
            st,
            "unsupported_response_type",
            "Only response_type=code is supported",
        );
    }
    let challenge = match (&q.code_challenge, q.code_challenge_method.as_deref()) {
        (Some(c), Some("S256")) if c.len() >= 43 => c.clone(),
        _ => {
            return redirect_error(
                &redirect_uri,
                st,
                "invalid_request",
                "PKCE is required: code_challenge with code_challenge_method=S256",
            );
        }
    };
    let flow = match build_flow(&shared, door, &q) {
        Ok(f) => f,
        Err(e) => return redirect_error(&redirect_uri, st, e.code, &e.description),
    };
    let pending = Pending {
        client_id,
        redirect_uri,
        state,
        challenge,
        flow,
        login_hint: q.login_hint.clone(),
        created: now_secs(),
    };
    if shared.settings.auto_approve {
        let user = default_user(&shared, &pending);
        return approve(&shared, pending, &user);
    }
    let id = random_token("req_");
    let page = consent(&shared, door, &id, &pending, None);
    shared.lock().pending.insert(id, pending);
    page
}

fn default_user(shared: &Shared, p: &Pending) -> String {
    if let Some(h) = p.login_hint.as_deref().filter(|h| shared.user(h).is_some()) {
        return h.to_string();
    }
    if let Flow::CscCredential(g) = &p.flow
        && let Some(c) = shared.credential(&g.credential_id)
    {
        return c.owner.clone();
    }
    "alice".to_string()
}

fn consent(shared: &Shared, door: Door, id: &str, p: &Pending, error: Option<&str>) -> Response {
    let (what_ja, what_en) = match &p.flow {
        Flow::Oidc { scope, .. } => (
            format!("GビズID によるログインと利用者情報の提供 (scope: {scope})"),
            format!("Sign in with the GビズID-style sandbox account and share your profile (scope: {scope})"),
        ),
        Flow::CscService => (
            "署名サービスの利用 (証明書の一覧・情報の参照)".to_string(),
            "Use of the signing service (list and read your credentials)".to_string(),
        ),
        Flow::CscCredential(g) => (
            format!("電子証明書 {} による {} 件の署名", g.credential_id, g.remaining),
            format!(
                "{} signature(s) with credential {}{}",
                g.remaining,
                g.credential_id,
                g.hashes
                    .as_ref()
                    .map(|h| format!(" over {} specific document hash(es)", h.len()))
                    .unwrap_or_default()
            ),
        ),
    };
    let users: Vec<(String, String)> = shared
        .state
        .users
        .iter()
        .map(|u| {
            (
                u.id.clone(),
                format!("{} — {} ({})", u.id, u.corporate_name, u.representative),
            )
        })
        .collect();
    let page = html::consent_page(&html::Consent {
        action: door.consent_path(),
        request_id: id,
        client_name: "crpki (SANDBOX TEST client)",
        what_ja,
        what_en,
        users: &users,
        login_hint: Some(p.login_hint.as_deref().unwrap_or("alice")),
        error,
    });
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        Html(page),
    )
        .into_response()
}

fn build_flow(shared: &Shared, door: Door, q: &AuthorizeQuery) -> ApiResult<Flow> {
    let scope = q.scope.clone().unwrap_or_default();
    if door == Door::Oidc {
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "The scope must include openid",
            ));
        }
        return Ok(Flow::Oidc {
            scope,
            nonce: q.nonce.clone(),
        });
    }
    if let Some(details) = &q.authorization_details {
        let list: Vec<CredentialAuthorizationDetails> =
            serde_json::from_str(details).map_err(|_| ApiError::invalid_param("authorization_details"))?;
        let [d] = list.as_slice() else {
            return Err(ApiError::invalid_param("authorization_details"));
        };
        if d.kind != "credential" || shared.credential(&d.credential_id).is_none() {
            return Err(ApiError::invalid_param("authorization_details"));
        }
        let alg = super::core::parse_hash_oid(&d.hash_algorithm_oid)?;
        let hashes: Vec<String> = d.document_digests.iter().map(|h| h.hash.clone()).collect();
        let hashes = super::core::decode_hashes(&hashes, Some(alg))?;
        return Ok(Flow::CscCredential(Grant {
            credential_id: d.credential_id.clone(),
            remaining: hashes.len() as u32,
            hashes: Some(hashes),
        }));
    }
    match scope.as_str() {
        "service" => Ok(Flow::CscService),
        "credential" => {
            let id = q
                .credential_id
                .clone()
                .ok_or_else(|| ApiError::missing_param("credentialID"))?;
            if shared.credential(&id).is_none() {
                return Err(ApiError::invalid_param("credentialID"));
            }
            let hashes = match q
                .hashes
                .as_deref()
                .or(q.hash.as_deref())
                .filter(|h| !h.is_empty())
            {
                Some(list) => {
                    let items: Vec<String> = list.split(',').map(str::to_string).collect();
                    let alg = q
                        .hash_algorithm_oid
                        .as_deref()
                        .map(super::core::parse_hash_oid)
                        .transpose()?;
                    Some(super::core::decode_hashes(&items, alg)?)
                }
                None => None,
            };
            let num = match &q.num_signatures {
                Some(n) => n
                    .parse::<u32>()
                    .map_err(|_| ApiError::invalid_param("numSignatures"))?,
                None => hashes.as_ref().map(|h| h.len() as u32).unwrap_or(1),
            };
            if num == 0 || num > shared.settings.multisign {
                return Err(ApiError::invalid_param("numSignatures"));
            }
            if hashes.as_ref().is_some_and(|h| h.len() != num as usize) {
                return Err(ApiError::invalid_param("numSignatures"));
            }
            Ok(Flow::CscCredential(Grant {
                credential_id: id,
                hashes,
                remaining: num,
            }))
        }
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The scope must be service or credential",
        )),
    }
}

fn approve(shared: &Shared, p: Pending, user: &str) -> Response {
    if let Flow::CscCredential(g) = &p.flow {
        match shared.credential(&g.credential_id) {
            Some(c) if c.owner == user => {
                if !c.info.key_enabled || c.info.expired {
                    return redirect_error(
                        &p.redirect_uri,
                        p.state.as_deref(),
                        "access_denied",
                        "The credential cannot sign",
                    );
                }
            }
            _ => {
                return redirect_error(
                    &p.redirect_uri,
                    p.state.as_deref(),
                    "access_denied",
                    "The credential does not belong to the user",
                );
            }
        }
    }
    let code = random_token("code_");
    let now = now_secs();
    shared.lock().codes.insert(
        code.clone(),
        AuthCode {
            user: user.to_string(),
            client_id: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            challenge: p.challenge.clone(),
            expires: now + shared.settings.code_ttl,
            used: false,
            flow: p.flow.clone(),
            auth_time: now,
        },
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = p.state.as_deref() {
        params.push(("state", s));
    }
    redirect_with(&p.redirect_uri, &params)
}

/// The consent form's fields.
#[derive(Deserialize)]
pub(crate) struct ConsentForm {
    request_id: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    decision: String,
}

/// `POST …/authorize`: the consent form.
pub(crate) async fn consent_post(shared: Arc<Shared>, door: Door, f: ConsentForm) -> Response {
    let Some(p) = shared.lock().pending.remove(&f.request_id) else {
        return (
            StatusCode::BAD_REQUEST,
            Html(html::error_page("Unknown or expired authorization request")),
        )
            .into_response();
    };
    if now_secs() > p.created + 600 {
        return redirect_error(
            &p.redirect_uri,
            p.state.as_deref(),
            "access_denied",
            "The login page expired",
        );
    }
    if f.decision != "approve" {
        return redirect_error(
            &p.redirect_uri,
            p.state.as_deref(),
            "access_denied",
            "The user denied the request",
        );
    }
    if !shared.check_password(&f.user, &f.password) {
        let page = consent(
            &shared,
            door,
            &f.request_id,
            &p,
            Some("利用者またはパスワードが違います / Wrong user or password"),
        );
        shared.lock().pending.insert(f.request_id, p);
        return page;
    }
    approve(&shared, p, &f.user)
}

/// Token endpoint form fields (OIDC and CSC).
#[derive(Deserialize, Default)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn s256(verifier: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}

fn no_store(body: TokenResponse) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
        axum::Json(body),
    )
        .into_response()
}

/// `POST …/token`.
pub(crate) async fn token(shared: Arc<Shared>, door: Door, headers: HeaderMap, form: TokenForm) -> Response {
    match token_inner(&shared, door, &headers, &form) {
        Ok(r) => no_store(r),
        // `RefreshRefusal::Bare401`.
        Err(e) if e.code.is_empty() => e.status.into_response(),
        Err(e) => e.into_response(),
    }
}

fn token_inner(
    shared: &Shared,
    door: Door,
    headers: &HeaderMap,
    form: &TokenForm,
) -> ApiResult<TokenResponse> {
    match door {
        Door::Oidc => {
            let methods = &shared.openid.token_endpoint_auth_methods;
            client_auth(
                shared,
                headers,
                (form.client_id.as_deref(), form.client_secret.as_deref()),
                methods.contains(&ClientAuthMethod::ClientSecretBasic),
                methods.contains(&ClientAuthMethod::ClientSecretPost),
            )?
        }
        Door::CscV1 | Door::CscV2 => client_auth(
            shared,
            headers,
            (form.client_id.as_deref(), form.client_secret.as_deref()),
            true,
            true,
        )?,
    }
    match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let code = form
                .code
                .as_deref()
                .ok_or_else(|| ApiError::missing_param("code"))?;
            let ac = {
                let mut store = shared.lock();
                let ac = store
                    .codes
                    .get_mut(code)
                    .ok_or_else(|| ApiError::invalid_grant("Invalid authorization code"))?;
                if ac.used {
                    return Err(ApiError::invalid_grant(
                        "The authorization code has already been used",
                    ));
                }
                if ac.expires <= now_secs() {
                    return Err(ApiError::invalid_grant("The authorization code has expired"));
                }
                if ac.client_id != CLIENT_ID {
                    return Err(ApiError::invalid_grant(
                        "The authorization code was issued to another client",
                    ));
                }
                if form.redirect_uri.as_deref() != Some(ac.redirect_uri.as_str()) {
                    return Err(ApiError::invalid_grant(
                        "redirect_uri does not match the authorization request",
                    ));
                }
                let verifier = form
                    .code_verifier
                    .as_deref()
                    .ok_or_else(|| ApiError::invalid_grant("code_verifier is required (PKCE)"))?;
                if !secret_eq(&s256(verifier), &ac.challenge) {
                    return Err(ApiError::invalid_grant("PKCE verification failed"));
                }
                ac.used = true;
                ac.clone()
            };
            issue_for_flow(shared, &ac.user, &ac.flow, ac.auth_time)
        }
        Some("refresh_token") => {
            let rt = form
                .refresh_token
                .as_deref()
                .ok_or_else(|| ApiError::missing_param("refresh_token"))?;
            let refused = |why: &str| refresh_refused(shared, door, rt, why);
            // Rotation: the old refresh token is gone as soon as it is used.
            let old = shared
                .lock()
                .refresh
                .remove(rt)
                .ok_or_else(|| refused("is invalid, revoked or already used"))?;
            if old.expires <= now_secs() {
                return Err(refused("has expired"));
            }
            if old.client_id != CLIENT_ID {
                return Err(ApiError::invalid_grant(
                    "The refresh token was issued to another client",
                ));
            }
            let flow = match (&old.oidc_scope, door) {
                (Some(scope), Door::Oidc) => Flow::Oidc {
                    scope: scope.clone(),
                    nonce: None,
                },
                (None, Door::CscV1 | Door::CscV2) => Flow::CscService,
                _ => {
                    return Err(ApiError::invalid_grant(
                        "The refresh token is for another endpoint",
                    ));
                }
            };
            issue_for_flow(shared, &old.user, &flow, old.auth_time)
        }
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        )),
        None => Err(ApiError::missing_param("grant_type")),
    }
}

fn issue_for_flow(shared: &Shared, user: &str, flow: &Flow, auth_time: u64) -> ApiResult<TokenResponse> {
    let u = shared
        .user(user)
        .ok_or_else(|| ApiError::invalid_grant("Unknown user"))?;
    match flow {
        Flow::Oidc { scope, nonce } => {
            let now = now_secs();
            let ttl = shared.settings.access_token_ttl;
            let access = AccessClaims {
                iss: shared.urls.issuer.clone(),
                sub: u.subject.clone(),
                aud: CLIENT_ID.to_string(),
                exp: now + ttl,
                iat: now,
                jti: random_token(""),
                scope: scope.clone(),
                client_id: CLIENT_ID.to_string(),
            };
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some(shared.jwt.kid.clone());
            let access_jwt = jsonwebtoken::encode(&header, &access, &shared.jwt.enc)
                .map_err(|_| ApiError::server_error("Could not sign the access token"))?;
            let mut id_claims = json!({
                "iss": shared.urls.issuer,
                "sub": u.subject,
                "aud": CLIENT_ID,
                "exp": now + ttl,
                "iat": now,
                "auth_time": auth_time,
                "jti": random_token(""),
            });
            if let Some(n) = nonce {
                id_claims["nonce"] = json!(n);
            }
            let id_token = jsonwebtoken::encode(&header, &id_claims, &shared.jwt.enc)
                .map_err(|_| ApiError::server_error("Could not sign the ID token"))?;
            let refresh = scope
                .split(' ')
                .any(|s| s == "offline_access")
                .then(|| shared.issue_refresh(user, CLIENT_ID, Some(scope.clone()), auth_time));
            shared.counters.tokens_issued.fetch_add(1, Ordering::Relaxed);
            Ok(TokenResponse {
                access_token: access_jwt.into(),
                refresh_token: refresh.map(Secret::new),
                token_type: Some("Bearer".into()),
                expires_in: Some(ttl),
                id_token: Some(id_token.into()),
                scope: Some(scope.clone()),
                credential_id: None,
            })
        }
        Flow::CscService => {
            let (token, ttl) = shared.issue_access(user, TokenKind::Service);
            Ok(TokenResponse {
                access_token: token.into(),
                refresh_token: Some(shared.issue_refresh(user, CLIENT_ID, None, auth_time).into()),
                token_type: Some("Bearer".into()),
                expires_in: Some(ttl),
                id_token: None,
                scope: Some("service".into()),
                credential_id: None,
            })
        }
        Flow::CscCredential(g) => {
            let (token, _) = shared.issue_access(user, TokenKind::Credential(g.clone()));
            // A credential token plays the SAD's part: it lives as long as a SAD.
            let ttl = shared.settings.sad_ttl;
            if let Some(t) = shared.lock().access.get_mut(&token) {
                t.expires = now_secs() + ttl;
            }
            shared.counters.authorizations.fetch_add(1, Ordering::Relaxed);
            shared
                .counters
                .authorized_signatures
                .fetch_add(u64::from(g.remaining), Ordering::Relaxed);
            Ok(TokenResponse {
                access_token: token.into(),
                refresh_token: None,
                token_type: Some("Bearer".into()),
                expires_in: Some(ttl),
                id_token: None,
                scope: Some("credential".into()),
                credential_id: Some(g.credential_id.clone()),
            })
        }
    }
}

/// `GET|POST /oauth/userinfo`.
pub(crate) async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return ApiError::invalid_token("Missing bearer access token").into_response();
    };
    let claims = match shared.decode_access_jwt(token) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(u) = shared.user_by_subject(&claims.sub) else {
        return ApiError::invalid_token("Unknown subject").into_response();
    };
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    let mut out = json!({ "sub": u.subject });
    if scopes.contains(&"profile") {
        out["account_type"] = json!("2");
        out["corp_type"] = json!("1");
        out["corporate_number"] = json!(u.corporate_number);
        out["name"] = json!(u.corporate_name);
        out["en_name"] = json!(format!("{} Co., Ltd. (SANDBOX TEST)", u.id));
        out["prefecture_name"] = json!("東京都");
        out["address1"] = json!("千代田区霞が関");
        out["address2"] = json!("一丁目1番1号 (SANDBOX)");
        out["rep_name"] = json!(u.representative);
    }
    if scopes.contains(&"user") {
        out["user_last_nm"] = json!(u.representative.split(' ').next().unwrap_or_default());
        out["user_first_nm"] = json!(u.representative.split(' ').nth(1).unwrap_or_default());
    }
    if scopes.contains(&"email") {
        out["email"] = json!(format!("{}@sandbox.invalid", u.id));
    }
    axum::Json(out).into_response()
}

/// `GET /oauth/.well-known/openid-configuration`.
pub(crate) async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let iss = &shared.urls.issuer;
    axum::Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}authorize"),
        "token_endpoint": format!("{iss}token"),
        "userinfo_endpoint": format!("{iss}userinfo"),
        "jwks_uri": format!("{iss}jwks"),
        "scopes_supported": ["openid", "profile", "user", "mandate", "email", "offline_access"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": shared
            .openid
            .token_endpoint_auth_methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>(),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "jti",
            "account_type", "corp_type", "corporate_number", "name", "en_name", "prefecture_name",
            "address1", "address2", "rep_name", "user_last_nm", "user_first_nm", "email"],
        "prompt_values_supported": ["login"],
    }))
    .into_response()
}

/// `GET /oauth/jwks`.
pub(crate) async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.jwt.jwks.clone()).into_response()
}

// Thin wrappers binding each door to the shared machinery.

pub(crate) async fn oidc_authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    authorize_get(s, Door::Oidc, q).await
}
pub(crate) async fn oidc_consent(State(s): State<Arc<Shared>>, Form(f): Form<ConsentForm>) -> Response {
    consent_post(s, Door::Oidc, f).await
}
pub(crate) async fn oidc_token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    token(s, Door::Oidc, headers, form.map(|f| f.0).unwrap_or_default()).await
}
pub(crate) async fn csc2_authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    authorize_get(s, Door::CscV2, q).await
}
pub(crate) async fn csc2_consent(State(s): State<Arc<Shared>>, Form(f): Form<ConsentForm>) -> Response {
    consent_post(s, Door::CscV2, f).await
}
pub(crate) async fn csc2_token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    token(s, Door::CscV2, headers, form.map(|f| f.0).unwrap_or_default()).await
}
pub(crate) async fn csc1_authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    authorize_get(s, Door::CscV1, q).await
}
pub(crate) async fn csc1_consent(State(s): State<Arc<Shared>>, Form(f): Form<ConsentForm>) -> Response {
    consent_post(s, Door::CscV1, f).await
}
pub(crate) async fn csc1_token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    token(s, Door::CscV1, headers, form.map(|f| f.0).unwrap_or_default()).await
}

/// `POST …/oauth2/revoke` (form, client authentication as at the token endpoint).
pub(crate) async fn csc_oauth_revoke(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    let sent = (form.client_id.as_deref(), form.client_secret.as_deref());
    if let Err(e) = client_auth(&s, &headers, sent, true, true) {
        return e.into_response();
    }
    match form.token {
        Some(t) if !t.is_empty() => {
            s.revoke(&t);
            StatusCode::OK.into_response()
        }
        _ => ApiError::missing_param("token").into_response(),
    }
}

/// `oauth2/revoke` form fields.
#[derive(Deserialize, Default)]
pub(crate) struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `auth/revoke` (JSON, bearer-authenticated), both versions.
pub(crate) fn auth_revoke(shared: &Shared, req: &RevokeRequest) {
    shared.revoke(req.token.expose());
}

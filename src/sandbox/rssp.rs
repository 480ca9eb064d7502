//! The CSC v2 methods under `/csc/v2/`, over [`core`](super::core).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{ApiError, ApiResult, CscJson, basic};
use super::core::{AuthorizeParams, Shared, SignParams, TokenKind};
use crate::csc::wire::v2::*;
use crate::secret::Secret;
use crate::signer::oid;

pub(crate) const V2_METHODS: &[&str] = &[
    "info",
    "auth/login",
    "auth/revoke",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "credentials/extendTransaction",
    "signatures/signHash",
    "oauth2/authorize",
    "oauth2/token",
    "oauth2/revoke",
];

pub(crate) fn info_body(shared: &Shared, specs: &str, base: &str) -> InfoResponse {
    InfoResponse {
        specs: specs.into(),
        name: "crpki SANDBOX RSSP (TEST)".into(),
        logo: format!("{}/logo.png", shared.urls.base),
        region: "JP".into(),
        lang: "en-US".into(),
        description: "crpki sandbox remote signing service: TEST keys only, no legal effect".into(),
        auth_type: vec!["basic".into(), "oauth2code".into(), "external".into()],
        oauth2: Some(base.trim_end_matches('/').to_string()),
        oauth2_issuer: None,
        asynchronous_operation_mode: Some(false),
        methods: V2_METHODS.iter().map(|s| s.to_string()).collect(),
        validation_info: Some(false),
        sign_algorithms: Some(SignAlgorithms {
            algos: vec![
                oid::SHA256_WITH_RSA.to_string(),
                oid::SHA384_WITH_RSA.to_string(),
                oid::SHA512_WITH_RSA.to_string(),
                oid::RSA_ENCRYPTION.to_string(),
                oid::RSASSA_PSS.to_string(),
                oid::ECDSA_SHA256.to_string(),
            ],
            algo_params: None,
        }),
    }
}

pub(crate) async fn info(State(s): State<Arc<Shared>>) -> Response {
    Json(info_body(&s, "2.0.0.2", &s.urls.csc_v2)).into_response()
}

/// `auth/login`: HTTP Basic (sandbox user and password) → access token.
pub(crate) fn login(shared: &Shared, headers: &HeaderMap, req: &LoginRequest) -> ApiResult<TokenResponse> {
    if let Some(rt) = req.refresh_token.as_ref().map(Secret::expose) {
        let old = shared
            .lock()
            .refresh
            .remove(rt)
            .ok_or_else(|| ApiError::invalid_grant("Invalid refresh token"))?;
        if old.expires <= super::api::now_secs() || old.oidc_scope.is_some() {
            return Err(ApiError::invalid_grant("Invalid refresh token"));
        }
        return Ok(issue_login(shared, &old.user, true));
    }
    let (user, password) = basic(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "Missing or malformed HTTP Basic authorization",
        )
    })?;
    if !shared.check_password(&user, &password) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "An error occurred while authenticating the user: wrong user or password",
        ));
    }
    shared.counters.logins.fetch_add(1, Ordering::Relaxed);
    Ok(issue_login(shared, &user, req.remember_me.unwrap_or(false)))
}

fn issue_login(shared: &Shared, user: &str, refresh: bool) -> TokenResponse {
    let (token, ttl) = shared.issue_access(user, TokenKind::Service);
    TokenResponse {
        access_token: token.into(),
        refresh_token: refresh.then(|| {
            shared
                .issue_refresh(user, "", None, super::api::now_secs())
                .into()
        }),
        token_type: None,
        expires_in: Some(ttl),
        id_token: None,
        scope: None,
        credential_id: None,
    }
}

pub(crate) async fn auth_login(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    login(&s, &headers, &req).map(Json)
}

pub(crate) async fn auth_revoke(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<RevokeRequest>,
) -> ApiResult<StatusCode> {
    s.authenticate(&headers)?;
    super::oidc::auth_revoke(&s, &req);
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn credentials_list(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<CredentialsListRequest>,
) -> ApiResult<Json<CredentialsListResponse>> {
    let caller = s.authenticate(&headers)?;
    if req.user_id.as_deref().is_some_and(|u| u != caller.user) {
        return Err(ApiError::invalid_param("userID"));
    }
    let only_valid = req.only_valid.unwrap_or(false);
    let creds = s.credential_ids(&caller.user, only_valid);
    let infos = if req.credential_info.unwrap_or(false) {
        let mut v = Vec::new();
        for c in &creds {
            let mut i = s.credential_info(
                c,
                req.certificates.as_deref(),
                req.cert_info.unwrap_or(false),
                req.auth_info.unwrap_or(false),
            )?;
            i.credential_id = Some(c.info.id.clone());
            v.push(i);
        }
        Some(v)
    } else {
        None
    };
    Ok(Json(CredentialsListResponse {
        credential_ids: creds.iter().map(|c| c.info.id.clone()).collect(),
        credential_infos: infos,
        only_valid: req.only_valid.map(|_| only_valid),
        next_page_token: None,
    }))
}

pub(crate) async fn credentials_info(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<CredentialsInfoRequest>,
) -> ApiResult<Json<CredentialInfo>> {
    let caller = s.authenticate(&headers)?;
    let cred = s.owned_credential(&caller.user, &req.credential_id)?;
    s.credential_info(
        cred,
        req.certificates.as_deref(),
        req.cert_info.unwrap_or(false),
        req.auth_info.unwrap_or(false),
    )
    .map(Json)
}

pub(crate) async fn credentials_authorize(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<AuthorizeRequest>,
) -> ApiResult<Json<AuthorizeResponse>> {
    let caller = s.authenticate(&headers)?;
    let data = req.auth_data.as_deref().unwrap_or_default();
    let find = |id: &str| {
        data.iter()
            .find(|d| d.id.eq_ignore_ascii_case(id))
            .map(|d| d.value.expose())
    };
    let (sad, ttl) = s.authorize(
        &caller,
        AuthorizeParams {
            credential_id: &req.credential_id,
            num_signatures: req.num_signatures,
            hashes: req.hashes.as_deref(),
            hash_algorithm_oid: req.hash_algorithm_oid.as_deref(),
            pin: find("PIN"),
            otp: find("OTP"),
        },
    )?;
    Ok(Json(AuthorizeResponse {
        sad: sad.into(),
        expires_in: Some(ttl),
    }))
}

pub(crate) async fn credentials_extend(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<ExtendTransactionRequest>,
) -> ApiResult<Json<AuthorizeResponse>> {
    let caller = s.authenticate(&headers)?;
    let (sad, ttl) = s.extend(
        &caller,
        &req.credential_id,
        req.sad.expose(),
        req.hashes.as_deref(),
    )?;
    Ok(Json(AuthorizeResponse {
        sad: sad.into(),
        expires_in: Some(ttl),
    }))
}

pub(crate) async fn sign_hash(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<SignHashRequest>,
) -> ApiResult<Json<SignHashResponse>> {
    let caller = s.authenticate(&headers)?;
    if req.operation_mode.as_deref().is_some_and(|m| m != "S") {
        return Err(ApiError::invalid_param("operationMode"));
    }
    let signatures = s
        .sign_hash(
            &caller,
            SignParams {
                credential_id: &req.credential_id,
                sad: req.sad.as_ref().map(Secret::expose),
                hashes: &req.hashes,
                hash_algorithm_oid: req.hash_algorithm_oid.as_deref(),
                sign_algo: &req.sign_algo,
                sign_algo_params: req.sign_algo_params.as_deref(),
            },
        )
        .await?;
    Ok(Json(SignHashResponse {
        signatures,
        response_id: None,
    }))
}

/// Unknown methods: CSC's "not implemented" reply.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "invalid_request", "Unknown method")
}

//! CSC v1.0.4.0 compatibility under `/csc/v1/`: the v1 request and reply
//! shapes (`hash`/`hashAlgo`, `PIN`/`OTP`, `authMode`) mapped onto the same
//! service as v2, so both versions accept and refuse the same things.
//! Errors name the v1 fields (`hash`, `hashAlgo`), never the v2 ones.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::api::{ApiError, ApiResult, CscJson};
use super::core::{AuthorizeParams, Shared, SignParams};
use super::state::CredentialAuthMode;
use crate::csc::wire::v1::*;
use crate::csc::wire::v2::*;
use crate::secret::Secret;

pub(crate) async fn info(State(s): State<Arc<Shared>>) -> Response {
    let mut i = super::rssp::info_body(&s, "1.0.4.0", &s.urls.csc_v1);
    // v1 has neither of these.
    i.sign_algorithms = None;
    i.validation_info = None;
    i.asynchronous_operation_mode = None;
    Json(i).into_response()
}

// `auth/login` and `auth/revoke` have the same shapes in both versions.
pub(crate) use super::rssp::{auth_login, auth_revoke};

/// The v2 field names in an error of the shared core, as v1 names them:
/// `hashes` → `hash`, `hashAlgorithmOID` → `hashAlgo`.
fn v1_names(mut e: ApiError) -> ApiError {
    let mut d = e.description.replace("hashAlgorithmOID", "hashAlgo");
    for (v2, v1) in [
        ("parameter hashes", "parameter hash"),
        ("of hashes", "of hash values"),
    ] {
        d = d.replace(v2, v1);
    }
    e.description = d;
    e
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
    if req.max_results == Some(0) {
        return Err(ApiError::invalid_param("maxResults"));
    }
    let creds = s.credential_ids(&caller.user, false);
    Ok(Json(CredentialsListResponse {
        credential_ids: creds.iter().map(|c| c.info.id.clone()).collect(),
        ..Default::default()
    }))
}

pub(crate) async fn credentials_info(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<CredentialsInfoRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let caller = s.authenticate(&headers)?;
    let cred = s.owned_credential(&caller.user, &req.credential_id)?;
    let v2 = s.credential_info(
        cred,
        req.certificates.as_deref(),
        req.cert_info.unwrap_or(false),
        true,
    )?;
    let (auth_mode, pin, otp) = match &cred.info.auth_mode {
        CredentialAuthMode::Explicit { pin, otp } => (
            "explicit",
            Some(V1AuthInput {
                presence: pin.is_some().to_string(),
                format: pin.as_ref().map(|_| "N".to_string()),
                label: pin.as_ref().map(|_| "PIN".to_string()),
                description: pin.as_ref().map(|_| "Sandbox PIN (TEST)".to_string()),
                ..Default::default()
            }),
            Some(V1AuthInput {
                presence: otp.is_some().to_string(),
                kind: otp.as_ref().map(|_| "offline".to_string()),
                format: otp.as_ref().map(|_| "N".to_string()),
                label: otp.as_ref().map(|_| "OTP".to_string()),
                description: otp
                    .as_ref()
                    .map(|_| "Sandbox one-time password (TEST, fixed value)".to_string()),
            }),
        ),
        CredentialAuthMode::OAuth2Code => ("oauth2code", None, None),
    };
    let info = V1CredentialInfo {
        description: v2.description,
        key: v2.key,
        cert: v2.cert.unwrap_or_default(),
        auth_mode: auth_mode.into(),
        scal: v2.scal,
        pin,
        otp,
        multisign: v2.multisign,
        lang: v2.lang,
    };
    let mut body =
        serde_json::to_value(&info).map_err(|_| ApiError::server_error("encoding credentials/info"))?;
    if s.faults.get().v1_quirks {
        // As some v1 services answer: no `multisign`, no `authMode`, `SCAL`
        // as a number.
        if let Some(o) = body.as_object_mut() {
            o.remove("multisign");
            o.remove("authMode");
            let scal = info.scal.parse::<u32>().unwrap_or(1);
            o.insert("SCAL".into(), serde_json::Value::from(scal));
        }
    }
    Ok(Json(body))
}

pub(crate) async fn credentials_authorize(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<V1AuthorizeRequest>,
) -> ApiResult<Json<AuthorizeResponse>> {
    let caller = s.authenticate(&headers)?;
    let (sad, ttl) = s
        .authorize(
            &caller,
            AuthorizeParams {
                credential_id: &req.credential_id,
                num_signatures: req.num_signatures,
                hashes: req.hash.as_deref(),
                hash_algorithm_oid: None,
                pin: req.pin.as_ref().map(Secret::expose),
                otp: req.otp.as_ref().map(Secret::expose),
            },
        )
        .map_err(v1_names)?;
    Ok(Json(AuthorizeResponse {
        sad: sad.into(),
        expires_in: Some(ttl),
    }))
}

/// v1 names the hashes `hash`; otherwise the same as v2.
pub(crate) async fn credentials_extend(
    state: State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<V1ExtendTransactionRequest>,
) -> ApiResult<Json<AuthorizeResponse>> {
    let v2 = ExtendTransactionRequest {
        credential_id: req.credential_id,
        hashes: req.hash,
        hash_algorithm_oid: req.hash_algo,
        sad: req.sad,
        client_data: req.client_data,
    };
    super::rssp::credentials_extend(state, headers, CscJson(v2))
        .await
        .map_err(v1_names)
}

pub(crate) async fn sign_hash(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    CscJson(req): CscJson<V1SignHashRequest>,
) -> ApiResult<Json<SignHashResponse>> {
    let caller = s.authenticate(&headers)?;
    let signatures = s
        .sign_hash(
            &caller,
            SignParams {
                credential_id: &req.credential_id,
                sad: Some(req.sad.expose()),
                hashes: &req.hash,
                hash_algorithm_oid: req.hash_algo.as_deref(),
                sign_algo: &req.sign_algo,
                sign_algo_params: req.sign_algo_params.as_deref(),
            },
        )
        .await
        .map_err(v1_names)?;
    Ok(Json(SignHashResponse {
        signatures,
        response_id: None,
    }))
}

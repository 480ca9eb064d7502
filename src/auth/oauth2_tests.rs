//! Unit tests of `super` (the OAuth 2.0 client).

use super::*;
use base64::Engine as _;

#[test]
fn pkce_challenge_is_base64url_sha256() {
    // Expected value from `printf %s VERIFIER | openssl dgst -sha256 -binary | basenc --base64url`.
    let verifier = PkceCodeVerifier::new("dBjftJeZ4CK-V9ZcjPcL3dHYaAEm5fDRlqbRAkhpcBE".into());
    assert_eq!(
        PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str(),
        "reOvHDvSJUMRAC-kTUJKPq2SePCiVtvhQN9XiXV78-w"
    );
}

fn client(secret: Option<&str>) -> OAuthClient {
    let http = crate::http::http_client(&Default::default()).unwrap();
    OAuthClient::new(http, "test server", "a b:c/é", secret.map(Secret::new))
}

/// The request `oauth2` builds for a refresh with our client settings.
fn refresh_request(c: &OAuthClient) -> HttpRequest {
    let client = c
        .base()
        .set_token_uri(TokenUrl::new("https://as.example/token".into()).unwrap());
    let token = RefreshToken::new("rt".into());
    let seen = std::sync::Mutex::new(None);
    let fake = |r: HttpRequest| {
        *seen.lock().unwrap() = Some(r);
        async { Err::<HttpResponse, _>(Error::unsupported("offline")) }
    };
    let _ = block_on(client.exchange_refresh_token(&token).request_async(&fake));
    seen.into_inner().unwrap().unwrap()
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn client_credentials_are_form_encoded() {
    // RFC 6749 §2.3.1: id and secret form-encoded, then HTTP Basic.
    let r = refresh_request(&client(Some("Az09-._*")));
    let basic = r.headers()["authorization"].to_str().unwrap().to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim_start_matches("Basic "))
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "a+b%3Ac%2F%C3%A9:Az09-._*");
    let body = String::from_utf8(r.body().clone()).unwrap();
    assert!(body.contains("grant_type=refresh_token"), "{body}");
    assert!(!body.contains("client_id"), "{body}");
    // A public client names itself in the form.
    let r = refresh_request(&client(None));
    assert!(r.headers().get("authorization").is_none());
    let body = String::from_utf8(r.body().clone()).unwrap();
    assert!(body.contains("client_id=a+b%3Ac%2F%C3%A9"), "{body}");
}

#[test]
fn token_responses_as_providers_send_them() {
    let r: GrantResponse = serde_json::from_value(serde_json::json!({
        "access_token": "at", "expires_in": "3600", "scope": "openid profile", "id_token": "x.y.z"
    }))
    .unwrap();
    assert_eq!(r.expires_in, Some(3600));
    assert_eq!(r.token_type, BasicTokenType::Bearer);
    assert_eq!(r.scopes.as_ref().map(Vec::len), Some(2));
    assert!(!format!("{r:?}").contains("\"at\""));
    let r: GrantResponse =
        serde_json::from_value(serde_json::json!({"access_token": "at", "token_type": "Bearer"})).unwrap();
    assert_eq!(r.token_type.as_ref(), "Bearer");
    assert!(
        serde_json::from_value::<GrantResponse>(
            serde_json::json!({"access_token": "at", "expires_in": "soon"})
        )
        .is_err()
    );
}

#[test]
fn refusals_map_to_errors() {
    let body = |code: &str| OAuthErrorBody {
        error: code.into(),
        error_description: Some("d\u{7}".into()),
    };
    let e = refusal_error("S", 400, Some(&body("invalid_grant")), GrantKind::Refresh);
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    let e = refusal_error("S", 401, Some(&body("invalid_client")), GrantKind::Code);
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let e = refusal_error("S", 502, None, GrantKind::Code);
    assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
    let e = refusal_error("S", 400, None, GrantKind::Code);
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    let e = refusal_error("S", 400, Some(&body("invalid_scope")), GrantKind::Code);
    assert!(
        matches!(&e, Error::Remote { code, description, .. } if code == "invalid_scope" && description == "d"),
        "{e:?}"
    );
}

/// `oauth2` refuses non-HTTPS revocation URLs; a plain-HTTP loopback
/// endpoint (the sandbox without TLS) is still reached, with the form
/// RFC 7009 asks for.
#[tokio::test]
async fn revocation_reaches_a_plain_http_loopback_endpoint() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("token_type_hint") {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8_lossy(&seen).into_owned()
    });
    let c = client(Some("s"));
    c.revoke(
        &format!("http://127.0.0.1:{port}/revoke"),
        &Secret::new("rt-1"),
        TokenKind::Refresh,
    )
    .await
    .unwrap();
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /revoke "), "{request}");
    assert!(request.contains("token=rt-1"), "{request}");
    assert!(request.contains("token_type_hint=refresh_token"), "{request}");
    // Plain HTTP elsewhere stays refused.
    let e = c
        .revoke("http://192.0.2.1/revoke", &Secret::new("t"), TokenKind::Access)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

#[test]
fn client_secret_post_sends_both_form_encoded_in_the_body() {
    let c = client(Some("a+b/c=d:e%")).with_client_auth(ClientAuthMethod::ClientSecretPost);
    let r = refresh_request(&c);
    assert!(r.headers().get("authorization").is_none());
    let body = String::from_utf8(r.body().clone()).unwrap();
    assert!(body.contains("client_secret=a%2Bb%2Fc%3Dd%3Ae%25"), "{body}");
    assert!(body.contains("client_id=a+b%3Ac%2F%C3%A9"), "{body}");
}

#[test]
fn every_refresh_refusal_means_log_in_again() {
    let body = |code: &str| OAuthErrorBody {
        error: code.into(),
        error_description: None,
    };
    for (status, reply) in [
        (400, Some(body("invalid_grant"))),
        (400, Some(body("invalid_token"))),
        (401, Some(body("invalid_token"))),
        (401, None),
    ] {
        let e = refusal_error("S", status, reply.as_ref(), GrantKind::Refresh);
        assert!(e.needs_login(), "{status} {reply:?}: {e:?}");
        assert!(e.to_string().contains("log in again"), "{e}");
    }
    // A refused client is still a configuration error, and a bare 401 to
    // a code exchange is not a refresh refusal.
    let e = refusal_error("S", 401, Some(&body("invalid_client")), GrantKind::Refresh);
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let e = refusal_error("S", 401, None, GrantKind::Code);
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
}

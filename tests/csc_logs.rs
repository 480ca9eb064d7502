//! Secrets stay out of the CSC client's logs and `Debug` output.
//!
//! This is its own test binary because it installs the process-wide tracing
//! subscriber. A thread-scoped one (`set_default`) loses events at random
//! when other tests of the same binary register the same callsites on other
//! threads at the same moment: tracing caches a callsite's interest, and a
//! registration in flight can store "never" after the scoped subscriber
//! appeared. With one test and a global subscriber there is no such race.
#![cfg(all(feature = "sandbox", feature = "cli"))]
#![allow(clippy::unwrap_used)]

mod csc_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use crpki::auth::AccessTokenSource;
use crpki::csc::{CscSigner, CscVersion, ExplicitAuthorizer, SignerOptions, StaticSecrets};
use crpki::{Error, RemoteSigner, Secret, SignatureAlgorithm};
use csc_support::*;

/// Everything the subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn tokens_sads_and_pins_stay_out_of_logs_and_debug() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("crpki=trace")
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");

    let sb = sandbox().await;
    let bare = bare_client(&sb, CscVersion::V2);
    let pin = "98731";
    let source = Arc::new(crpki::csc::BasicLoginSource::new(
        bare.without_token_source(),
        "alice",
        Secret::new("alice-password"),
    ));
    let c = Arc::new(bare.with_token_source(source.clone()));
    let rsa = SignatureAlgorithm::RSA_PKCS1_SHA256;
    let s = CscSigner::new(
        c.clone(),
        "alice-rsa",
        Arc::new(ExplicitAuthorizer::new(Arc::new(
            StaticSecrets::new().with("PIN", pin),
        ))),
        SignerOptions::default(),
    )
    .await
    .unwrap();
    // A wrong PIN, then the right one, then signing.
    let e = s.sign_digests(rsa, &digests("logs", 2)).await.unwrap_err();
    assert!(matches!(e, Error::InvalidOtp { .. }), "{e:?}");
    let s = alice_signer(c.clone()).await;
    s.sign_digests(rsa, &digests("logs", 2)).await.unwrap();
    let token = source.access_token().await.unwrap();

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("CSC reply"),
        "the CSC client logged nothing?\n{logs}"
    );
    assert!(logs.contains("credentials/info"), "{logs}");
    assert!(logs.contains("signatures/signHash"), "{logs}");
    for secret in [token.expose(), pin, "alice-password", "sad_"] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs");
    }
    for debug in [
        format!("{s:?}"),
        format!("{c:?}"),
        format!("{source:?}"),
        format!("{e:?}"),
        format!("{:?}", s.credential()),
    ] {
        assert!(!debug.contains(token.expose()) && !debug.contains(pin), "{debug}");
    }
}

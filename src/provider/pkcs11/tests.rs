//! The module's semantics over in-memory signers (no network): slots,
//! objects, find templates, attributes, mechanisms and their parameters,
//! size queries, login rules. The C ABI and the real consumers are tested
//! in `tests/pkcs11.rs`.

use std::sync::Arc;

use cryptoki_sys::*;

use super::*;
use crate::provider::testutil::CountingSigner;
use crate::provider::{ProviderCore, SignatureCache, StaticSource, Worker, worker};
use crate::signer::{HashAlgorithm, MemorySigner, RemoteSigner, SignatureAlgorithm};

fn module_with(signers: Vec<(&str, Arc<dyn RemoteSigner>)>) -> Module {
    let source = StaticSource::new(signers.into_iter().map(|(n, s)| (n.to_owned(), s)).collect());
    Module::new(ProviderCore::new(
        Arc::new(source),
        Worker::new(worker::DEFAULT_TIMEOUT, None),
        SignatureCache::default(),
    ))
}

fn ecdsa_signer() -> Arc<dyn RemoteSigner> {
    Arc::new(
        MemorySigner::from_pem(
            include_str!("../../../fixtures/rep-ecdsa.key.pem"),
            include_str!("../../../fixtures/rep-ecdsa.pem"),
            include_str!("../../../fixtures/registrar-root.pem"),
        )
        .unwrap(),
    )
}

fn attribute(m: &Module, h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE, t: CK_ATTRIBUTE_TYPE) -> Option<Vec<u8>> {
    let mut got = None;
    m.attributes(h, o, &[t], |a| {
        if let AttributeValue::Value(v) = a {
            got = Some(v.to_vec());
        }
    })
    .unwrap();
    got
}

fn find(
    m: &Module,
    h: CK_SESSION_HANDLE,
    template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)],
) -> Vec<CK_OBJECT_HANDLE> {
    m.find_init(h, template).unwrap();
    let found = m.find(h, 100).unwrap();
    m.find_final(h).unwrap();
    found
}

fn class(c: CK_OBJECT_CLASS) -> (CK_ATTRIBUTE_TYPE, Vec<u8>) {
    (CKA_CLASS, c.to_ne_bytes().to_vec())
}

#[test]
fn slots_objects_and_attributes() {
    let rsa = Arc::new(CountingSigner::new());
    let m = module_with(vec![("rep", rsa.clone()), ("ec", ecdsa_signer())]);
    assert_eq!(m.slot_list(true), vec![0, 1]);
    let info = m.token_info(0).unwrap();
    assert_eq!(info.flags & CKF_WRITE_PROTECTED, CKF_WRITE_PROTECTED);
    assert_eq!(
        info.flags & CKF_LOGIN_REQUIRED,
        0,
        "an in-memory key needs no PIN"
    );
    assert_eq!(m.token_info(7).unwrap_err().code, CKR_SLOT_ID_INVALID);
    assert_eq!(
        m.open_session(0, CKF_SERIAL_SESSION | CKF_RW_SESSION)
            .unwrap_err()
            .code,
        CKR_TOKEN_WRITE_PROTECTED
    );
    assert_eq!(
        m.open_session(0, 0).unwrap_err().code,
        CKR_SESSION_PARALLEL_NOT_SUPPORTED
    );
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();

    // Certificate, public key, private key, registrar root.
    let all = find(&m, h, &[]);
    assert_eq!(all.len(), 4);
    let certs = find(&m, h, &[class(CKO_CERTIFICATE)]);
    assert_eq!(certs.len(), 2);
    let der = rsa.certificate().der().to_vec();
    let mine = find(&m, h, &[class(CKO_CERTIFICATE), (CKA_VALUE, der.clone())]);
    assert_eq!(mine.len(), 1, "a certificate is found by its DER value");
    assert!(
        find(&m, h, &[class(CKO_SECRET_KEY)]).is_empty(),
        "an unknown class matches nothing"
    );
    assert!(find(&m, h, &[(0x8000_1234, vec![1])]).is_empty());
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    let id = attribute(&m, h, key, CKA_ID).unwrap();
    assert_eq!(
        attribute(&m, h, mine[0], CKA_ID).unwrap(),
        id,
        "one CKA_ID for the key and its certificate"
    );
    assert_eq!(attribute(&m, h, mine[0], CKA_VALUE).unwrap(), der);
    assert_eq!(attribute(&m, h, key, CKA_SIGN).unwrap(), vec![CK_TRUE]);
    assert_eq!(attribute(&m, h, key, CKA_EXTRACTABLE).unwrap(), vec![CK_FALSE]);
    let (n, _) = rsa.certificate().public_key().unwrap().rsa_components().unwrap();
    assert_eq!(attribute(&m, h, key, CKA_MODULUS).unwrap(), n);
    // Unknown and sensitive attributes, alongside a known one.
    let mut answers = Vec::new();
    m.attributes(h, key, &[CKA_PRIVATE_EXPONENT, 0x8000_1234, CKA_LABEL], |a| {
        answers.push(format!("{a:?}"))
    })
    .unwrap();
    assert_eq!(answers, ["Sensitive", "Invalid", "Value([114, 101, 112])"]);
    assert_eq!(
        m.attributes(h, 0, &[CKA_CLASS], |_| {}).unwrap_err().code,
        CKR_OBJECT_HANDLE_INVALID
    );

    // The EC token: EC parameters and point, ECDSA mechanisms only.
    let h2 = m.open_session(1, CKF_SERIAL_SESSION).unwrap();
    let ec_key = find(&m, h2, &[class(CKO_PRIVATE_KEY)])[0];
    assert_eq!(attribute(&m, h2, ec_key, CKA_EC_PARAMS).unwrap()[0], 0x06);
    assert_eq!(attribute(&m, h2, ec_key, CKA_EC_POINT).unwrap().len(), 2 + 65);
    assert_eq!(m.mechanisms(1).unwrap(), vec![CKM_ECDSA, CKM_ECDSA_SHA256]);
    assert_eq!(m.mechanisms(0).unwrap().len(), 8);
    assert!(!all.contains(&ec_key), "objects belong to their token");
    assert_eq!(
        m.operation_init(h, CKM_SHA256_RSA_PKCS, None, ec_key, false)
            .unwrap_err()
            .code,
        CKR_KEY_HANDLE_INVALID
    );
}

#[test]
fn signing_size_queries_and_mechanisms() {
    let rsa = Arc::new(CountingSigner::new());
    let m = module_with(vec![("rep", rsa.clone())]);
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    let public = rsa.certificate().public_key().unwrap();
    let data = b"to be signed";
    let digest = HashAlgorithm::Sha256.digest(data);

    // The size is known without signing; a small buffer keeps the operation.
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, key, false)
        .unwrap();
    assert_eq!(m.sign(h, Some(data), None).unwrap(), Answer::Length(256));
    assert_eq!(m.sign(h, Some(data), Some(10)).unwrap(), Answer::TooSmall(256));
    assert_eq!(rsa.calls(), 0, "size queries never reach the signer");
    let Answer::Data(sig) = m.sign(h, Some(data), Some(256)).unwrap() else {
        panic!()
    };
    public
        .verify_digest(SignatureAlgorithm::RSA_PKCS1_SHA256, &digest, &sig)
        .unwrap();
    assert_eq!(
        m.sign(h, Some(data), Some(256)).unwrap_err().code,
        CKR_OPERATION_NOT_INITIALIZED
    );

    // Multi-part, and CKM_RSA_PKCS over a DigestInfo.
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, key, false)
        .unwrap();
    m.update(h, b"to be ", false).unwrap();
    m.update(h, b"signed", false).unwrap();
    assert_eq!(m.sign(h, None, Some(512)).unwrap(), Answer::Data(sig.clone()));
    let mut info = hex::decode("3031300d060960864801650304020105000420").unwrap();
    info.extend_from_slice(digest.as_bytes());
    m.operation_init(h, CKM_RSA_PKCS, None, key, false).unwrap();
    assert_eq!(
        m.sign(h, Some(&info), Some(256)).unwrap(),
        Answer::Data(sig.clone())
    );
    m.operation_init(h, CKM_RSA_PKCS, None, key, false).unwrap();
    assert_eq!(
        m.sign(h, Some(b"raw data"), Some(256)).unwrap_err().code,
        CKR_DATA_INVALID
    );

    // Verification, locally.
    let pubkey = find(&m, h, &[class(CKO_PUBLIC_KEY)])[0];
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, pubkey, true)
        .unwrap();
    m.verify(h, Some(data), &sig).unwrap();
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, pubkey, true)
        .unwrap();
    assert_eq!(
        m.verify(h, Some(b"other"), &sig).unwrap_err().code,
        CKR_SIGNATURE_INVALID
    );

    // PSS parameters: the hash's MGF1 and salt, or refused before signing.
    let params = |hash: CK_ULONG, mgf: CK_ULONG, salt: CK_ULONG| -> Vec<u8> {
        [hash, mgf, salt].iter().flat_map(|w| w.to_ne_bytes()).collect()
    };
    let good = params(CKM_SHA256, CKG_MGF1_SHA256, 32);
    m.operation_init(h, CKM_RSA_PKCS_PSS, Some(&good), key, false)
        .unwrap();
    let Answer::Data(pss) = m.sign(h, Some(digest.as_bytes()), Some(256)).unwrap() else {
        panic!()
    };
    public.verify_digest_pss(&digest, 32, &pss).unwrap();
    for bad in [
        params(CKM_SHA256, CKG_MGF1_SHA256, 20),
        params(CKM_SHA256, CKG_MGF1_SHA384, 32),
        params(CKM_SHA384, CKG_MGF1_SHA384, 48),
    ] {
        let e = m
            .operation_init(h, CKM_SHA256_RSA_PKCS_PSS, Some(&bad), key, false)
            .unwrap_err();
        assert_eq!(e.code, CKR_MECHANISM_PARAM_INVALID);
    }
    assert_eq!(
        m.operation_init(h, CKM_RSA_PKCS_PSS, None, key, false)
            .unwrap_err()
            .code,
        CKR_MECHANISM_PARAM_INVALID
    );
    assert_eq!(
        m.operation_init(h, CKM_ECDSA, None, key, false).unwrap_err().code,
        CKR_MECHANISM_INVALID
    );
    assert_eq!(
        rsa.calls(),
        2,
        "the same digest again comes from the core's cache"
    );
}

#[test]
fn ecdsa_signatures_are_raw() {
    let m = module_with(vec![("ec", ecdsa_signer())]);
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    let pubkey = find(&m, h, &[class(CKO_PUBLIC_KEY)])[0];
    m.operation_init(h, CKM_ECDSA_SHA256, None, key, false).unwrap();
    assert_eq!(m.sign(h, Some(b"x"), None).unwrap(), Answer::Length(64));
    let Answer::Data(sig) = m.sign(h, Some(b"x"), Some(64)).unwrap() else {
        panic!()
    };
    assert_eq!(sig.len(), 64);
    m.operation_init(h, CKM_ECDSA, None, pubkey, true).unwrap();
    m.verify(h, Some(HashAlgorithm::Sha256.digest(b"x").as_bytes()), &sig)
        .unwrap();
    m.operation_init(h, CKM_ECDSA, None, key, false).unwrap();
    assert_eq!(
        m.sign(h, Some(b"short"), Some(64)).unwrap_err().code,
        CKR_DATA_LEN_RANGE
    );
}

#[test]
fn login_rules() {
    let m = module_with(vec![("rep", Arc::new(CountingSigner::new()))]);
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    let h2 = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    assert_eq!(m.login(h, CKU_USER, b"").unwrap_err().code, CKR_PIN_LEN_RANGE);
    assert_eq!(
        m.login(h, CKU_USER, &[b'1'; 65]).unwrap_err().code,
        CKR_PIN_LEN_RANGE
    );
    assert_eq!(
        m.login(h, CKU_SO, b"1234").unwrap_err().code,
        CKR_USER_TYPE_INVALID
    );
    assert_eq!(
        m.login(h, CKU_CONTEXT_SPECIFIC, b"1234").unwrap_err().code,
        CKR_OPERATION_NOT_INITIALIZED
    );
    assert_eq!(m.logout(h).unwrap_err().code, CKR_USER_NOT_LOGGED_IN);
    m.login(h, CKU_USER, b"1234").unwrap();
    // A login is the token's: the other session sees it.
    assert_eq!(m.session_info(h2).unwrap().state, CKS_RO_USER_FUNCTIONS);
    assert_eq!(
        m.login(h2, CKU_USER, b"1234").unwrap_err().code,
        CKR_USER_ALREADY_LOGGED_IN
    );
    m.close_session(h).unwrap();
    assert_eq!(m.session_info(h2).unwrap().state, CKS_RO_USER_FUNCTIONS);
    m.close_session(h2).unwrap();
    assert_eq!(m.close_session(h2).unwrap_err().code, CKR_SESSION_HANDLE_INVALID);
    let h3 = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    assert_eq!(
        m.session_info(h3).unwrap().state,
        CKS_RO_PUBLIC_SESSION,
        "the last session closing logs out"
    );
}

#[test]
fn no_credential_is_a_slot_without_token() {
    let m = module_with(vec![]);
    assert_eq!(m.slot_list(false), vec![0]);
    assert!(m.slot_list(true).is_empty());
    assert_eq!(m.slot_info(0).unwrap().flags & CKF_TOKEN_PRESENT, 0);
    assert_eq!(
        m.open_session(0, CKF_SERIAL_SESSION).unwrap_err().code,
        CKR_TOKEN_NOT_PRESENT
    );
}

#[test]
fn error_codes() {
    use crate::error::Error;
    let code = |e: Error| Rv::from(e).code;
    assert_eq!(
        code(Error::ServiceUnavailable {
            detail: String::new(),
            source: None
        }),
        CKR_DEVICE_ERROR
    );
    assert_eq!(
        code(Error::WrongPassword { what: String::new() }),
        CKR_PIN_INCORRECT
    );
    assert_eq!(
        code(Error::Unauthenticated {
            detail: String::new(),
            source: None
        }),
        CKR_DEVICE_REMOVED
    );
    assert_eq!(
        code(Error::InteractionRequired {
            detail: String::new()
        }),
        CKR_USER_NOT_LOGGED_IN
    );
    assert_eq!(
        Rv::from(crate::provider::ProviderError::MoreData { needed: 1 }).code,
        CKR_BUFFER_TOO_SMALL
    );
    assert!(!Rv::quiet(CKR_ARGUMENTS_BAD).is_logged());
    assert_eq!(rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
}

#[test]
fn initialize_refuses_application_locks_only() {
    let args = InitArgs {
        mutex_callbacks: true,
        os_locking_ok: false,
        cant_create_threads: false,
    };
    assert_eq!(initialize(Some(args)).unwrap_err().code, CKR_CANT_LOCK);
}

/// A module over one container `rep` needing `auth`, its source recording
/// PINs, OTPs and logouts.
fn recording_module(
    auth: crate::signer::UserAuthentication,
) -> (
    Module,
    Arc<crate::provider::testutil::PinRecorder>,
    Arc<CountingSigner>,
) {
    let signer = Arc::new(CountingSigner::new().with_auth(auth));
    let source = Arc::new(crate::provider::testutil::PinRecorder::new(StaticSource::new(
        vec![("rep".to_owned(), signer.clone() as Arc<dyn RemoteSigner>)],
    )));
    let m = Module::new(ProviderCore::new(
        source.clone(),
        Worker::new(worker::DEFAULT_TIMEOUT, None),
        SignatureCache::default(),
    ));
    (m, source, signer)
}

/// [`recording_module`] with a session logged in with PIN 1234, its
/// private key, and a signature begun.
fn signing_with(
    auth: crate::signer::UserAuthentication,
) -> (
    Module,
    Arc<crate::provider::testutil::PinRecorder>,
    CK_SESSION_HANDLE,
) {
    let (m, source, _) = recording_module(auth);
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    m.login(h, CKU_USER, b"1234").unwrap();
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, key, false)
        .unwrap();
    (m, source, h)
}

fn sign_once(m: &Module, h: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, data: &[u8]) -> Result<Answer, Rv> {
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, key, false)?;
    m.sign(h, Some(data), Some(256))
}

#[test]
fn context_specific_login_gives_the_otp_or_the_pin() {
    use crate::signer::UserAuthentication;
    // PIN and OTP: the PIN with CKU_USER, the OTP per signature.
    let (m, source, signer) = recording_module(UserAuthentication::new(true, true).with_otp(true));
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    m.login(h, CKU_USER, b"1234").unwrap();
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    assert_eq!(
        attribute(&m, h, key, CKA_ALWAYS_AUTHENTICATE).unwrap(),
        vec![CK_TRUE]
    );
    assert_eq!(
        sign_once(&m, h, key, b"one").unwrap_err().code,
        CKR_USER_NOT_LOGGED_IN,
        "every signature needs its CKU_CONTEXT_SPECIFIC"
    );
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, key, false)
        .unwrap();
    m.login(h, CKU_CONTEXT_SPECIFIC, b"123456").unwrap();
    assert!(matches!(m.sign(h, Some(b"one"), Some(256)), Ok(Answer::Data(_))));
    assert_eq!(source.pins(), [("rep".to_owned(), "1234".to_owned())]);
    assert_eq!(source.otps(), [("rep".to_owned(), "123456".to_owned())]);
    assert_eq!(
        sign_once(&m, h, key, b"two").unwrap_err().code,
        CKR_USER_NOT_LOGGED_IN,
        "the context login served one signature"
    );

    // A refused OTP: CKR_PIN_INCORRECT, and the next signature brings
    // another (the token is not locked as for a refused PIN).
    let (m, source, signer2) = recording_module(UserAuthentication::new(false, true).with_otp(true));
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    *signer2.fail_with.lock().unwrap() = Some(|| crate::Error::InvalidOtp {
        detail: "invalid_otp".into(),
    });
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, key, false)
        .unwrap();
    m.login(h, CKU_CONTEXT_SPECIFIC, b"000000").unwrap();
    assert_eq!(
        m.sign(h, Some(b"three"), Some(256)).unwrap_err().code,
        CKR_PIN_INCORRECT
    );
    *signer2.fail_with.lock().unwrap() = None;
    m.operation_init(h, CKM_SHA256_RSA_PKCS, None, key, false)
        .unwrap();
    m.login(h, CKU_CONTEXT_SPECIFIC, b"123456").unwrap();
    assert!(matches!(
        m.sign(h, Some(b"three"), Some(256)),
        Ok(Answer::Data(_))
    ));
    assert!(source.pins().is_empty(), "an OTP is never taken as the PIN");
    assert_eq!(source.otps().len(), 2);

    // PIN per signature (SCAL 2 with a PIN): the value is the PIN.
    let (m, source, h) = signing_with(UserAuthentication::new(true, true));
    m.login(h, CKU_CONTEXT_SPECIFIC, b"4321").unwrap();
    assert_eq!(source.pins().last().unwrap().1, "4321");
    assert!(source.otps().is_empty());

    // Approved in the browser (oauth2code): the user per signature, but no
    // value from the application, so no CKA_ALWAYS_AUTHENTICATE.
    let (m, _, approved) = recording_module(UserAuthentication::new(false, true));
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    assert_eq!(
        attribute(&m, h, key, CKA_ALWAYS_AUTHENTICATE).unwrap(),
        vec![CK_FALSE]
    );
    assert!(matches!(sign_once(&m, h, key, b"approved"), Ok(Answer::Data(_))));
    assert_eq!(approved.calls(), 1);

    // A key without CKA_ALWAYS_AUTHENTICATE: the value would never be
    // checked, so it is refused.
    let (m, source, h) = signing_with(UserAuthentication::new(true, false));
    assert_eq!(
        m.login(h, CKU_CONTEXT_SPECIFIC, b"9999").unwrap_err().code,
        CKR_OPERATION_NOT_INITIALIZED
    );
    assert_eq!(source.pins().len(), 1, "the PIN of CKU_USER only");
    assert_eq!(signer.calls(), 1);
}

#[test]
fn logout_wipes_what_the_source_keeps() {
    use crate::signer::UserAuthentication;
    let (m, source, signer) = recording_module(UserAuthentication::new(true, false));
    let h = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    let h2 = m.open_session(0, CKF_SERIAL_SESSION).unwrap();
    m.login(h, CKU_USER, b"1234").unwrap();
    let key = find(&m, h, &[class(CKO_PRIVATE_KEY)])[0];
    assert!(matches!(sign_once(&m, h, key, b"same"), Ok(Answer::Data(_))));
    m.logout(h).unwrap();
    assert_eq!(source.logouts(), ["rep"]);
    // Signing needs C_Login again: the private key is gone with the login.
    assert_eq!(
        sign_once(&m, h, key, b"same").unwrap_err().code,
        CKR_KEY_HANDLE_INVALID
    );
    assert_eq!(
        m.login(h, CKU_USER, b"1234").map(|_| ()),
        Ok(()),
        "a new login after the logout"
    );
    assert_eq!(
        m.login(h2, CKU_USER, b"9999").unwrap_err().code,
        CKR_USER_ALREADY_LOGGED_IN,
        "a second C_Login is refused, its PIN not taken"
    );
    assert_eq!(source.pins().len(), 2);
    // The signature made before the logout is not answered from the cache.
    assert!(matches!(sign_once(&m, h, key, b"same"), Ok(Answer::Data(_))));
    assert_eq!(signer.calls(), 2);
    // Closing the token's last session is a logout too.
    m.close_session(h).unwrap();
    assert_eq!(source.logouts().len(), 1);
    m.close_session(h2).unwrap();
    assert_eq!(source.logouts().len(), 2);
}

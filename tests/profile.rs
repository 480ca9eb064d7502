//! Profiles and token files on disk.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use crpki::Error;
use crpki::Secret;
use crpki::profile::WindowsProvider;
use crpki::profile::{
    CONFIG_DIR_ENV, CscVersion, FileTokenStore, PROFILE_ENV, Profile, ProfileStore, ProxySettings,
    SANDBOX_PROFILE, SandboxEndpoints, SecretRef, ServiceAuth, TokenStore, Tokens,
};

fn full_profile(name: &str) -> Profile {
    let mut p = Profile::new(
        name,
        "https://stg.gbiz-id.go.jp/oauth/",
        "client-1",
        "https://rssp.example/csc/v2/",
    );
    p.description = Some("テスト環境".into());
    p.oidc.client_secret = Some(SecretRef::Env("GBIZ_CLIENT_SECRET".into()));
    p.oidc.scopes = vec![
        "openid".into(),
        "profile".into(),
        "user".into(),
        "offline_access".into(),
    ];
    p.oidc.revocation_endpoint = Some("https://stg.gbiz-id.go.jp/oauth/revoke".into());
    p.rssp.api_version = CscVersion::V1;
    p.rssp.service_auth = ServiceAuth::CscBasic {
        user: "alice".into(),
        password: Some(SecretRef::File("/run/secrets/csc".into())),
    };
    p.proxy = Some(ProxySettings {
        url: "http://proxy.corp.example:8080".into(),
        user: Some("bob".into()),
        password: Some(SecretRef::Value(Secret::new("proxy-pass"))),
        no_proxy: vec!["intra.example".into(), "10.0.0.0/8".into()],
    });
    p.extra_ca_files = vec!["/etc/crpki/corp-ca.pem".into()];
    p.credential_id = Some("cred-42".into());
    p.windows_provider = WindowsProvider::Ksp;
    p
}

fn tokens(access: &str, refresh: &str) -> Tokens {
    Tokens {
        issuer: "https://stg.gbiz-id.go.jp/oauth/".into(),
        client_id: "client-1".into(),
        subject: Some("user-sub".into()),
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        id_token: Some(Secret::new("header.payload.signature")),
        expires_at: Some(UNIX_EPOCH + Duration::from_secs(1_900_000_000)),
        scope: Some("openid profile offline_access".into()),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn leftover_temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect()
}

#[test]
fn profile_round_trips_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path().join("cfg"));
    let p = full_profile("stg");
    store.add(p.clone()).unwrap();

    let back = store.get("stg").unwrap();
    assert_eq!(back, p);
    // A second store on the same directory (another process) sees the same.
    assert_eq!(ProfileStore::open(dir.path().join("cfg")).get("stg").unwrap(), p);

    let text = std::fs::read_to_string(store.config_file()).unwrap();
    assert!(text.contains("[profiles.stg.oidc]"), "{text}");
    assert!(text.contains("mode = \"csc_basic\""), "{text}");
    assert!(text.contains("windows_provider = \"ksp\""), "{text}");
    assert!(leftover_temp_files(store.dir()).is_empty());
    #[cfg(unix)]
    {
        assert_eq!(mode(&store.config_file()), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
    }
    // The inline proxy password is in the (owner-only) file, not in Debug.
    assert!(!format!("{back:?}").contains("proxy-pass"));
}

#[test]
fn windows_provider_defaults_to_the_csp_and_is_not_written_then() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path());
    let mut p = full_profile("plain");
    p.windows_provider = WindowsProvider::default();
    store.add(p).unwrap();
    let text = std::fs::read_to_string(store.config_file()).unwrap();
    assert!(!text.contains("windows_provider"), "{text}");
    assert_eq!(store.get("plain").unwrap().windows_provider, WindowsProvider::Csp);
    // Written by hand, in any case; anything else is refused with the file named.
    std::fs::write(
        store.config_file(),
        text.replace(
            "[profiles.plain]\n",
            "[profiles.plain]\nwindows_provider = \"ksp\"\n",
        ),
    )
    .unwrap();
    assert_eq!(store.get("plain").unwrap().windows_provider, WindowsProvider::Ksp);
    std::fs::write(
        store.config_file(),
        text.replace(
            "[profiles.plain]\n",
            "[profiles.plain]\nwindows_provider = \"pkcs11\"\n",
        ),
    )
    .unwrap();
    match store.get("plain") {
        Err(Error::Config { detail }) => assert!(detail.contains("profiles.toml"), "{detail}"),
        other => panic!("{other:?}"),
    }
    // The names the providers register under, and the command-line values.
    for p in WindowsProvider::ALL {
        assert_eq!(WindowsProvider::from_name(p.name()), Some(p));
        assert_eq!(p.as_str().parse::<WindowsProvider>().unwrap(), p);
    }
    assert!(WindowsProvider::Csp.name().contains("CSP") && WindowsProvider::Ksp.name().contains("KSP"));
    assert_eq!(
        WindowsProvider::from_name("Microsoft Software Key Storage Provider"),
        None
    );
    assert!(matches!(
        "capi".parse::<WindowsProvider>(),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn add_use_remove_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path());
    assert_eq!(store.current_name().unwrap(), None);
    assert!(matches!(store.current(), Err(Error::Config { .. })));

    store.add(full_profile("a")).unwrap();
    store.add(full_profile("b")).unwrap();
    assert!(matches!(
        store.add(full_profile("a")),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        store.add(full_profile(SANDBOX_PROFILE)),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        store.add(full_profile("../evil")),
        Err(Error::InvalidArgument { .. })
    ));
    let mut empty = full_profile("c");
    empty.oidc.issuer.clear();
    assert!(matches!(store.add(empty), Err(Error::Config { .. })));

    let names: Vec<String> = store.list().unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["a", "b", SANDBOX_PROFILE]);

    store.use_profile("a").unwrap();
    assert_eq!(store.current_name().unwrap().as_deref(), Some("a"));
    assert_eq!(store.current().unwrap().name, "a");
    match store.use_profile("nope") {
        Err(Error::NotFound { what }) => assert!(what.contains("nope"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.current_name().unwrap().as_deref(), Some("a"));

    let edited = store
        .edit("b", |p| {
            p.credential_id = Some("other".into());
            Ok(())
        })
        .unwrap();
    assert_eq!(edited.credential_id.as_deref(), Some("other"));
    assert_eq!(store.get("b").unwrap().credential_id.as_deref(), Some("other"));
    assert!(matches!(
        store.edit("b", |p| {
            p.name = "renamed".into();
            Ok(())
        }),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        store.edit("nope", |_| Ok(())),
        Err(Error::NotFound { .. })
    ));

    // Removing a profile removes its tokens and, if current, the selection.
    let token_store = store.token_store();
    token_store.save("a", &tokens("at", "rt")).unwrap();
    store.remove("a").unwrap();
    assert!(token_store.load("a").unwrap().is_none());
    assert!(matches!(store.get("a"), Err(Error::NotFound { .. })));
    assert_eq!(store.current_name().unwrap(), None);
    assert!(matches!(store.remove("a"), Err(Error::NotFound { .. })));
    assert!(matches!(
        store.remove(SANDBOX_PROFILE),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(leftover_temp_files(store.dir()).is_empty());
}

#[test]
fn malformed_toml_is_a_config_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path());
    std::fs::write(store.config_file(), "current = \"a\"\n[profiles.a\nissuer = 1\n").unwrap();
    match store.list() {
        Err(Error::Config { detail }) => {
            assert!(
                detail.contains(&store.config_file().display().to_string()),
                "{detail}"
            );
            assert!(detail.contains("line 2"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Valid TOML with a wrong shape is refused the same way.
    std::fs::write(store.config_file(), "[profiles.a]\nissuer = \"x\"\n").unwrap();
    match store.get("a") {
        Err(Error::Config { detail }) => assert!(detail.contains("profiles.toml"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sandbox_profile_reads_the_running_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path().join("cfg"));
    let builtin = store.get(SANDBOX_PROFILE).unwrap();
    assert!(builtin.sandbox);
    assert!(builtin.description.as_deref().unwrap().contains("SANDBOX"));

    let state = dir.path().join("state");
    store
        .edit(SANDBOX_PROFILE, |p| {
            p.sandbox_state = Some(state.clone());
            Ok(())
        })
        .unwrap();
    match store.resolve(SANDBOX_PROFILE) {
        Err(Error::Config { detail }) => {
            assert!(detail.contains("crpki sandbox serve"), "{detail}");
            assert!(detail.contains("endpoints.toml"), "{detail}");
        }
        other => panic!("{other:?}"),
    }

    let endpoints = SandboxEndpoints {
        redirect_uri: None,
        oidc_issuer: "https://127.0.0.1:40001/oauth/".into(),
        client_id: "crpki-sandbox".into(),
        client_secret: Some(Secret::new("sandbox-secret")),
        revocation_endpoint: None,
        rssp_base_url: "https://127.0.0.1:40001/csc/v2/".into(),
        csc_version: CscVersion::V2,
        ca_file: Some("ca.pem".into()),
        tsa_url: None,
        tsa_root_file: None,
    };
    endpoints.write(&state).unwrap();
    assert_eq!(SandboxEndpoints::read(&state).unwrap().as_ref(), Some(&endpoints));

    store.use_profile(SANDBOX_PROFILE).unwrap();
    store
        .edit(SANDBOX_PROFILE, |p| {
            p.credential_id = Some("sandbox-cred".into());
            Ok(())
        })
        .unwrap();
    let resolved = store.current().unwrap();
    assert!(resolved.sandbox);
    assert_eq!(resolved.oidc.issuer, endpoints.oidc_issuer);
    assert_eq!(resolved.oidc.client_id, "crpki-sandbox");
    assert_eq!(
        resolved
            .oidc
            .client_secret
            .as_ref()
            .unwrap()
            .resolve("x")
            .unwrap()
            .expose(),
        "sandbox-secret"
    );
    assert_eq!(resolved.rssp.base_url, endpoints.rssp_base_url);
    assert_eq!(resolved.extra_ca_files, vec![state.join("ca.pem")]);
    assert_eq!(resolved.credential_id.as_deref(), Some("sandbox-cred"));
    // The stored form keeps no endpoint: they change at every start.
    assert_eq!(store.get(SANDBOX_PROFILE).unwrap().oidc.issuer, "");

    assert!(matches!(
        store.edit(SANDBOX_PROFILE, |p| {
            p.sandbox = false;
            Ok(())
        }),
        Err(Error::InvalidArgument { .. })
    ));
    // Removing the edited sandbox reverts it to the built-in.
    store.remove(SANDBOX_PROFILE).unwrap();
    assert_eq!(store.get(SANDBOX_PROFILE).unwrap(), Profile::builtin_sandbox());
    assert_eq!(store.current_name().unwrap().as_deref(), Some(SANDBOX_PROFILE));

    assert!(SandboxEndpoints::remove(&state).unwrap());
    assert!(!SandboxEndpoints::remove(&state).unwrap());
}

#[test]
fn token_file_round_trip_is_owner_only_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path().join("tokens"));
    assert!(store.load("p").unwrap().is_none());
    assert!(!store.delete("p").unwrap());

    let t = tokens("access-1", "refresh-1");
    store.save("p", &t).unwrap();
    assert_eq!(store.load("p").unwrap().as_ref(), Some(&t));
    let path = store.path("p").unwrap();
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
    }
    assert!(leftover_temp_files(store.dir()).is_empty());

    // Rotation replaces the file, still 0600, still no leftovers.
    let t2 = tokens("access-2", "refresh-2");
    store.save("p", &t2).unwrap();
    assert_eq!(store.load("p").unwrap().as_ref(), Some(&t2));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    assert!(leftover_temp_files(store.dir()).is_empty());

    // Without optional fields.
    let mut t3 = tokens("a3", "r3");
    t3.refresh_token = None;
    t3.id_token = None;
    t3.expires_at = None;
    t3.subject = None;
    t3.scope = None;
    store.save("q", &t3).unwrap();
    assert_eq!(store.load("q").unwrap().as_ref(), Some(&t3));

    assert!(store.delete("p").unwrap());
    assert!(store.load("p").unwrap().is_none());
    assert!(matches!(
        store.save("../x", &t),
        Err(Error::InvalidArgument { .. })
    ));
}

#[cfg(unix)]
#[test]
fn group_readable_token_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    store
        .save("p", &tokens("secret-access", "secret-refresh"))
        .unwrap();
    let path = store.path("p").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    match store.load("p") {
        Err(Error::Config { detail }) => {
            assert!(detail.contains("group or others"), "{detail}");
            assert!(detail.contains("0644"), "{detail}");
            assert!(detail.contains(&path.display().to_string()), "{detail}");
            assert!(!detail.contains("secret-"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Saving again replaces it with an owner-only file.
    store.save("p", &tokens("a", "r")).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert!(store.load("p").unwrap().is_some());

    // A symlink is not followed.
    let link = store.path("l").unwrap();
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(matches!(store.load("l"), Err(Error::Config { .. })));
}

#[cfg(unix)]
#[test]
fn world_writable_settings_are_refused_with_the_chmod_to_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path().join("cfg"));
    store.add(full_profile("stg")).unwrap();
    let file = store.config_file();

    // profiles.toml writable by group or others: another user could
    // redirect the issuer or the RSSP.
    for bad in [0o666, 0o620, 0o602] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(bad)).unwrap();
        match store.get("stg") {
            Err(Error::Config { detail }) => {
                assert!(detail.contains(&file.display().to_string()), "{detail}");
                assert!(detail.contains(&format!("{bad:04o}")), "{detail}");
                assert!(
                    detail.contains(&format!("chmod 600 {}", file.display())),
                    "{detail}"
                );
            }
            other => panic!("mode {bad:o}: {other:?}"),
        }
        assert!(matches!(store.list(), Err(Error::Config { .. })));
    }
    // Readable by others is not a redirection risk (it holds no token).
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(store.get("stg").unwrap(), full_profile("stg"));

    // The token directory writable by others: refused for loading and
    // saving, naming the directory and the chmod.
    let tokens_store = store.token_store();
    tokens_store
        .save("stg", &tokens("access-1", "refresh-1"))
        .unwrap();
    let tdir = tokens_store.dir().to_path_buf();
    std::fs::set_permissions(&tdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    for result in [
        tokens_store.load("stg").map(|_| ()),
        tokens_store.save("stg", &tokens("access-2", "refresh-2")),
    ] {
        match result {
            Err(Error::Config { detail }) => {
                assert!(detail.contains("0777"), "{detail}");
                assert!(
                    detail.contains(&format!("chmod 700 {}", tdir.display())),
                    "{detail}"
                );
                assert!(!detail.contains("access-"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
    std::fs::set_permissions(&tdir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let back = tokens_store.load("stg").unwrap().unwrap();
    assert_eq!(back.access_token.expose(), "access-1");

    // The sandbox hand-over file is a settings file too.
    let state = dir.path().join("state");
    let endpoints = SandboxEndpoints {
        redirect_uri: None,
        oidc_issuer: "https://127.0.0.1:40001/oauth/".into(),
        client_id: "crpki-sandbox".into(),
        client_secret: None,
        revocation_endpoint: None,
        rssp_base_url: "https://127.0.0.1:40001/csc/v2/".into(),
        csc_version: CscVersion::V2,
        ca_file: None,
        tsa_url: None,
        tsa_root_file: None,
    };
    endpoints.write(&state).unwrap();
    let handover = state.join(SandboxEndpoints::FILE_NAME);
    std::fs::set_permissions(&handover, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(matches!(
        SandboxEndpoints::read(&state),
        Err(Error::Config { .. })
    ));
}

#[test]
fn malformed_token_file_does_not_echo_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    store.save("p", &tokens("a", "r")).unwrap();
    let path = store.path("p").unwrap();
    std::fs::write(&path, "version = 1\naccess_token = \"leaked-value\nx").unwrap();
    match store.load("p") {
        Err(Error::Config { detail }) => {
            assert!(detail.contains("malformed"), "{detail}");
            assert!(!detail.contains("leaked-value"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

const CHILD_MARKER: &str = "CRPKI_PROFILE_TEST_CHILD";

/// Runs in a child process (see `environment_overrides_dir_and_profile`),
/// because changing the environment of the test process is not sound.
#[test]
fn env_child() {
    let Ok(expected_dir) = std::env::var(CHILD_MARKER) else {
        return;
    };
    let store = ProfileStore::open_default().unwrap();
    assert_eq!(store.dir(), Path::new(&expected_dir));
    assert_eq!(store.current_name().unwrap().as_deref(), Some("b"));
    assert_eq!(store.current().unwrap().name, "b");
}

#[test]
fn environment_overrides_dir_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path());
    store.add(full_profile("a")).unwrap();
    store.add(full_profile("b")).unwrap();
    store.use_profile("a").unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_child", "--test-threads=1"])
        .env(CHILD_MARKER, dir.path())
        .env(CONFIG_DIR_ENV, dir.path())
        .env(PROFILE_ENV, "b")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn a_token_file_sealed_on_windows_is_refused_here_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path().join("tokens"));
    store.save("p", &tokens("access-1", "refresh-1")).unwrap();
    let path = store.path("p").unwrap();
    // Not sealed here: plain TOML, as before.
    assert!(std::fs::read_to_string(&path).unwrap().contains("access-1"));
    let mut sealed = crpki::profile::DPAPI_MAGIC.to_vec();
    sealed.extend_from_slice(b"\x01\x00\x00\x00opaque blob with access-1 inside");
    std::fs::write(&path, &sealed).unwrap();
    match store.load("p") {
        Err(Error::Config { detail }) => {
            assert!(
                detail.contains("DPAPI") && detail.contains("log in again"),
                "{detail}"
            );
            assert!(!detail.contains("access-1"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Bytes that are neither sealed nor text: a clear error, no content echoed.
    std::fs::write(&path, b"\xff\xfeaccess-1").unwrap();
    match store.load("p") {
        Err(Error::Config { detail }) => assert!(!detail.contains("access-1"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

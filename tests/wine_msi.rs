//! The Windows installer, for real: `scripts/build-msi.sh` cross-builds
//! the release `crpki.exe` and `crpki.dll` and packs
//! `crpki-<version>-x64.msi` with wixl; this test reads the MSI with
//! `msiinfo`, then installs it with Wine's `msiexec` in a Wine prefix of its
//! own (made fresh for the run, so the suites that share a prefix are not
//! disturbed), signs through the installed CSP by name with the Windows
//! test program of `tests/wine_csp.rs` against the sandbox (login made
//! here, on the Linux side), upgrades it with a higher version and
//! uninstalls it. `openssl` checks the signatures.
//!
//! What it needs beyond the other Wine suites (scripts/wine-env.sh): the
//! Debian packages wixl and msitools, which the build script installs.
//! What it cannot check under Wine: the KSP through Windows' CNG router
//! (Wine 8 has no third-party KSP loading and its BCryptRegisterProvider
//! stores nothing), so the KSP's rows are checked for their layout only.
#![cfg(all(feature = "csp", feature = "ksp", feature = "sandbox", feature = "remote"))]
#![allow(clippy::unwrap_used)]

#[path = "wine/harness.rs"]
mod harness;
#[path = "wine/remote_support.rs"]
mod remote_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use harness::*;
use remote_support::*;

const KSP_PROVIDER: &str = "crpki Remote Signing KSP (open source)";
const CSP_KEY: &str =
    r"HKLM\SOFTWARE\Microsoft\Cryptography\Defaults\Provider\crpki Remote Signing CSP (open source)";
const KSP_KEY: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Control\Cryptography\Providers\crpki Remote Signing KSP (open source)";
const KSP_ROUTER_KEY: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Control\Cryptography\Configuration\Local\Default\00010001\KEY_STORAGE";
const ENVIRONMENT_KEY: &str = r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment";
const UNINSTALL_KEY: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall";
/// Where the MSI installs, as Windows sees it.
const INSTALL_DIR: &str = r"C:\Program Files\crpki";
/// NTE_KEYSET_NOT_DEF: what CryptAcquireContext returns for a provider
/// name that is not registered (the README's "Windows" section).
const NOT_REGISTERED: &str = "80090019";

/// The Windows test programs, from the same build as `tests/wine_combined.rs`
/// (so that a run of both builds them once): the DLL is not used, the
/// MSI's is.
fn build() -> (PathBuf, PathBuf) {
    let (dll, exes) = build_flavour(
        "csp,ksp,cli",
        &["crpki"],
        &["wine_csp_client", "wine_ksp_client"],
        "wine-build-both",
    );
    (dll, exes[0].clone())
}

/// Runs `scripts/build-msi.sh ARGS` (release cross-build into
/// `<target dir>/msi-build`); returns the MSI's path.
fn build_msi(args: &[&str]) -> PathBuf {
    let out = Command::new("bash")
        .arg(Path::new(MANIFEST).join("scripts/build-msi.sh"))
        .args(args)
        .env("CARGO_TARGET_DIR", target_root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("running bash");
    assert!(
        out.status.success(),
        "scripts/build-msi.sh {args:?} failed ({}); it installs wixl, msitools, mingw-w64 and nasm when missing",
        out.status
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let msi = PathBuf::from(stdout.lines().last().expect("the MSI's path").trim());
    assert!(msi.is_file(), "missing {}", msi.display());
    msi
}

/// `msiinfo ARGS`, which must succeed; its stdout.
fn msiinfo(args: &[&str]) -> String {
    let out = Command::new("msiinfo")
        .args(args)
        .output()
        .expect("running msiinfo");
    assert!(
        out.status.success(),
        "msiinfo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The rows of table `table` of `msi`, each as its tab-separated fields.
fn rows(msi: &Path, table: &str) -> Vec<Vec<String>> {
    msiinfo(&["export", path(msi), table])
        .lines()
        .skip(3)
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// What `msiinfo` shows of the MSI: its tables, files, registry rows, PATH
/// entry, upgrade rules and sequence, and no custom action.
fn check_database(msi: &Path, version: &str) {
    let tables = msiinfo(&["tables", path(msi)]);
    let tables: Vec<&str> = tables.lines().collect();
    for t in [
        "File",
        "Component",
        "Directory",
        "Feature",
        "FeatureComponents",
        "Media",
        "Registry",
        "Environment",
        "Upgrade",
        "LaunchCondition",
        "InstallExecuteSequence",
        "Property",
    ] {
        assert!(tables.contains(&t), "no {t} table in {tables:?}");
    }
    let custom = rows(msi, "CustomAction");
    assert!(
        custom.is_empty(),
        "the MSI registers declaratively, without custom actions: {custom:?}"
    );

    let mut files: Vec<String> = rows(msi, "File").into_iter().map(|r| r[2].clone()).collect();
    files.sort();
    assert_eq!(files, ["LICENSE.txt", "README.md", "crpki.dll", "crpki.exe"]);
    // Per machine, 64-bit, into Program Files\crpki.
    let dirs = rows(msi, "Directory");
    assert!(
        dirs.iter()
            .any(|r| r[0] == "INSTALLDIR" && r[1] == "ProgramFiles64Folder" && r[2] == "crpki"),
        "{dirs:?}"
    );
    for r in rows(msi, "Component") {
        let attributes: u32 = r[3].parse().unwrap();
        assert_ne!(attributes & 256, 0, "component {} is not 64-bit", r[0]);
    }
    let properties = rows(msi, "Property");
    let property = |name: &str| {
        properties
            .iter()
            .find(|r| r[0] == name)
            .map(|r| r[1].clone())
            .unwrap_or_else(|| panic!("no property {name}"))
    };
    assert_eq!(property("ALLUSERS"), "1");
    assert_eq!(property("ProductVersion"), version);
    assert_eq!(property("ProductName"), "crpki");
    let upgrade_code = property("UpgradeCode");

    // (key, name, value) of every registry row, all under HKLM (2).
    let registry: Vec<(String, String, String)> = rows(msi, "Registry")
        .into_iter()
        .inspect(|r| assert_eq!(r[1], "2", "not HKLM: {r:?}"))
        .map(|r| (r[2].clone(), r[3].clone(), r[4].clone()))
        .collect();
    let csp = CSP_KEY.trim_start_matches(r"HKLM\");
    let ksp = format!(r"SYSTEM\CurrentControlSet\Control\Cryptography\Providers\{KSP_PROVIDER}\UM");
    let mut expected: Vec<(String, String, String)> = [
        (csp.to_owned(), "Image Path", "[INSTALLDIR]crpki.dll"),
        (csp.to_owned(), "Type", "#24"),
        (csp.to_owned(), "SigInFile", "#0"),
        (ksp.clone(), "Image", "[INSTALLDIR]crpki.dll"),
        (format!(r"{ksp}\00010001"), "Functions", "[~]KEY_STORAGE[~]"),
        (format!(r"{ksp}\00010001"), "Flags", "#1"),
        (
            KSP_ROUTER_KEY.trim_start_matches(r"HKLM\").to_owned(),
            "Providers",
            "[~]crpki Remote Signing KSP (open source)",
        ),
    ]
    .into_iter()
    .map(|(k, n, v)| (k, n.to_owned(), v.to_owned()))
    .collect();
    let mut registry = registry;
    registry.sort();
    expected.sort();
    assert_eq!(registry, expected);

    let env = rows(msi, "Environment");
    assert_eq!(env.len(), 1, "{env:?}");
    assert_eq!(
        (env[0][1].as_str(), env[0][2].as_str()),
        ("=-*PATH", "[~];[INSTALLDIR]")
    );

    // MajorUpgrade: lower versions are found and removed, higher ones refuse.
    let upgrade = rows(msi, "Upgrade");
    assert!(
        upgrade
            .iter()
            .any(|r| r[0] == upgrade_code && r[2] == version && r[6] == "WIX_UPGRADE_DETECTED"),
        "{upgrade:?}"
    );
    let sequence: Vec<String> = rows(msi, "InstallExecuteSequence")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for action in [
        "FindRelatedProducts",
        "RemoveExistingProducts",
        "InstallFiles",
        "WriteRegistryValues",
        "RemoveRegistryValues",
        "WriteEnvironmentStrings",
        "RemoveEnvironmentStrings",
    ] {
        assert!(
            sequence.iter().any(|a| a == action),
            "no {action} in {sequence:?}"
        );
    }
    assert!(
        msiinfo(&["suminfo", path(msi)]).contains("Template: x64;1033"),
        "not an x64 package"
    );
}

/// `msiinfo suminfo` without the two build times.
fn suminfo_without_times(msi: &Path) -> String {
    msiinfo(&["suminfo", path(msi)])
        .lines()
        .filter(|l| !l.starts_with("Created:") && !l.starts_with("Last saved:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `wine reg query KEY /s`, or None when the key is missing.
fn reg_tree(wine: &Wine, key: &str) -> Option<String> {
    let out = wine.run(&["reg", "query", key, "/s"]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The system PATH as stored in the registry.
fn system_path(wine: &Wine) -> String {
    let out = wine.run(&["reg", "query", ENVIRONMENT_KEY, "/v", "PATH"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.split_once("REG_EXPAND_SZ").map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("no PATH in {text}"))
}

/// `crpki --version` through `cmd`, which finds crpki on the PATH:
/// (whether crpki answered, the output). Not cmd's exit status alone:
/// Wine's cmd exits with 0 for any unknown command once the PATH ends in
/// an empty entry, as it does after Wine's msi removed crpki's.
fn crpki_on_path(wine: &Wine) -> (bool, String) {
    let out = wine.run(&["cmd", "/c", "crpki", "--version"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let answered = out.status.success() && text.lines().any(|l| l.starts_with("crpki "));
    (answered, text)
}

/// `wine msiexec ARGS /qn`, which must succeed.
fn msiexec(wine: &Wine, args: &[&str]) {
    let mut all = vec!["msiexec"];
    all.extend_from_slice(args);
    all.push("/qn");
    let out = wine.run(&all);
    assert!(out.status.success(), "msiexec {args:?} failed: {out:?}");
}

/// Stops the wineserver of the test's own prefix when the test ends.
struct StopWineserver(std::collections::HashMap<String, String>);

impl Drop for StopWineserver {
    fn drop(&mut self) {
        let _ = Command::new("wineserver").arg("-k").envs(&self.0).status();
    }
}

/// The entries of a `PATH` value, empty ones (a doubled or trailing `;`)
/// left out.
fn path_entries(path: &str) -> Vec<&str> {
    path.split(';').filter(|entry| !entry.is_empty()).collect()
}

#[test]
fn msi_installs_signs_upgrades_and_uninstalls_under_wine() {
    let started = Instant::now();
    let version = env!("CARGO_PKG_VERSION");
    let tmp = tempfile::tempdir().unwrap();

    // The MSI, built by the script the README names.
    let msi = build_msi(&["--out", path(&tmp.path().join("msi"))]);
    let built = started.elapsed();
    let size = std::fs::metadata(&msi).unwrap().len();
    assert_eq!(
        msi.file_name().unwrap().to_string_lossy(),
        format!("crpki-{version}-x64.msi")
    );
    check_database(&msi, version);

    // Repeatable: the same inputs pack to the same bytes but for the two
    // times of the summary information (two FILETIMEs: at most 16 bytes).
    let again = build_msi(&["--no-build", "--out", path(&tmp.path().join("again"))]);
    let (a, b) = (std::fs::read(&msi).unwrap(), std::fs::read(&again).unwrap());
    assert_eq!(a.len(), b.len(), "the rebuilt MSI differs in size");
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differing <= 16, "{differing} bytes differ between two builds");
    assert_eq!(suminfo_without_times(&msi), suminfo_without_times(&again));

    // A higher version of the same binaries, for the upgrade.
    let mut parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    parts[2] += 1;
    let newer = parts.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
    let msi2 = build_msi(&[
        "--no-build",
        "--version",
        &newer,
        "--out",
        path(&tmp.path().join("newer")),
    ]);
    check_database(&msi2, &newer);
    let packed = started.elapsed();

    // A fresh prefix of this test's own.
    let prefix = tmp.path().join("prefix");
    let env = wine_env_in(&prefix);
    let _stop = StopWineserver(env.clone());
    let made = started.elapsed();
    let rw = RemoteWine::start_with(env, build);
    let wine = rw.wine.clone();
    let client = rw.exe.clone();
    let installed = prefix.join("drive_c/Program Files/crpki");

    let path_before = system_path(&wine);
    let crypto_keys = [
        r"HKLM\SOFTWARE\Microsoft\Cryptography",
        r"HKLM\SYSTEM\CurrentControlSet\Control\Cryptography",
    ];
    let crypto_before: Vec<Option<String>> = crypto_keys.iter().map(|k| reg_tree(&wine, k)).collect();
    assert_eq!(wine.csp_key(), None, "the fresh prefix has the CSP already");
    let (found, text) = crpki_on_path(&wine);
    assert!(!found, "crpki is on the PATH before the install: {text}");

    // Install.
    let t = Instant::now();
    msiexec(&wine, &["/i", &win(&msi)]);
    let install_time = t.elapsed();
    let stage = target_root().join("msi-build/stage");
    for f in ["crpki.exe", "crpki.dll", "README.md", "LICENSE.txt"] {
        assert_eq!(
            std::fs::read(installed.join(f)).unwrap_or_else(|e| panic!("{f} not installed: {e}")),
            std::fs::read(stage.join(f)).unwrap(),
            "{f} is not the packed file"
        );
    }
    let dll = format!(r"{INSTALL_DIR}\crpki.dll");
    let key = wine.csp_key().expect("the MSI registered no CSP");
    assert_all_in(
        &key,
        [
            format!("Image Path    REG_SZ    {dll}"),
            "Type    REG_DWORD    0x18".into(),
            "SigInFile    REG_DWORD    0x0".into(),
        ],
        "the CSP's key",
    );
    let ksp = reg_tree(&wine, KSP_KEY).expect("the MSI registered no KSP");
    assert_all_in(
        &ksp,
        [
            format!("Image    REG_SZ    {dll}"),
            r"UM\00010001".into(),
            "Functions    REG_MULTI_SZ    KEY_STORAGE".into(),
            "Flags    REG_DWORD    0x1".into(),
        ],
        "the KSP's key",
    );
    let router = reg_tree(&wine, KSP_ROUTER_KEY).expect("the KSP is not in the router's list");
    assert!(
        router.contains(&format!("Providers    REG_MULTI_SZ    {KSP_PROVIDER}")),
        "{router}"
    );
    let path_installed = system_path(&wine);
    assert!(
        path_installed.starts_with(&path_before) && path_installed.ends_with(r"C:\Program Files\crpki\"),
        "{path_before} -> {path_installed}"
    );
    let (found, text) = crpki_on_path(&wine);
    assert!(
        found && text.contains(&format!("crpki {version}")),
        "crpki --version from the PATH: {text}"
    );

    // Sign through the installed CSP, found by name (no regsvr32), with the
    // credential of a login made on the Linux side.
    rw.login("alice");
    let sign_dir = tmp.path().join("sign");
    std::fs::create_dir(&sign_dir).unwrap();
    let before = rw.signatures();
    let text = wine.client(&client, &["sign", &win(&sign_dir)]);
    assert!(rw.signatures() > before, "the sandbox made no signature");
    let info = std::fs::read_to_string(sign_dir.join("info.txt")).unwrap();
    assert!(info.contains(&format!("name={CSP_PROVIDER}\n")), "{info}\n{text}");
    assert!(info.contains("container=alice-rsa\n"), "{info}");
    let pubkey = tmp.path().join("alice.pub.pem");
    pubkey_of(&sign_dir.join("cert.der"), &pubkey);
    let data = sign_dir.join("data.bin");
    for alg in ["sha256", "sha384", "sha512"] {
        check_dgst(alg, &pubkey, &sign_dir.join(format!("sig-{alg}.bin")), &data, &[]);
    }
    let p7s = sign_dir.join("message.p7s");
    assert!(
        cms_ok(&p7s, &data, &rw.root),
        "openssl rejected the CMS signature"
    );
    assert!(
        !cms_ok(&p7s, &pubkey, &rw.root),
        "openssl accepted it over other data"
    );

    // The CSP key is what DllRegisterServer writes for the installed DLL.
    let out = wine.run(&["regsvr32", "/s", &dll]);
    assert!(out.status.success(), "regsvr32 failed: {out:?}");
    assert_eq!(
        wine.csp_key(),
        Some(key),
        "regsvr32 wrote another CSP key than the MSI"
    );

    // Upgrade in place: one entry in the uninstall list, the newer one.
    let t = Instant::now();
    msiexec(&wine, &["/i", &win(&msi2)]);
    let upgrade_time = t.elapsed();
    let uninstall = reg_tree(&wine, UNINSTALL_KEY).unwrap_or_default();
    let entries = |text: &str| {
        text.lines()
            .filter(|l| l.trim() == "DisplayName    REG_SZ    crpki")
            .count()
    };
    assert_eq!(entries(&uninstall), 1, "{uninstall}");
    assert!(
        uninstall.contains(&format!("DisplayVersion    REG_SZ    {newer}")),
        "{uninstall}"
    );
    assert!(
        !uninstall.contains(&format!("DisplayVersion    REG_SZ    {version}")),
        "{uninstall}"
    );
    assert!(
        installed.join("crpki.dll").is_file(),
        "the upgrade lost crpki.dll"
    );
    assert!(wine.csp_key().is_some(), "the upgrade lost the CSP key");
    // Wine's msi leaves the separator of the entry it removed (`;`)
    // behind, so compare the entries, not the text: the folder must be
    // there exactly once, and nothing else may change.
    assert_eq!(
        path_entries(&system_path(&wine)),
        path_entries(&path_installed),
        "the upgrade changed the PATH twice"
    );

    // An older MSI refuses to replace the newer one.
    let out = wine.run(&["msiexec", "/i", &win(&msi), "/qn"]);
    assert!(!out.status.success(), "a downgrade installed");

    // Uninstall: every file and key the MSI added goes, nothing else; the
    // user's profile and tokens stay.
    let t = Instant::now();
    msiexec(&wine, &["/x", &win(&msi2)]);
    let uninstall_time = t.elapsed();
    assert!(!installed.exists(), "{} is still there", installed.display());
    assert_eq!(wine.csp_key(), None, "the CSP key is still there");
    assert_eq!(reg_tree(&wine, KSP_KEY), None, "the KSP key is still there");
    let crypto_after: Vec<Option<String>> = crypto_keys.iter().map(|k| reg_tree(&wine, k)).collect();
    assert_eq!(crypto_after, crypto_before, "the uninstall changed other keys");
    // Wine's msi leaves the separators it added (`;`) behind.
    let path_after = system_path(&wine);
    assert_eq!(path_entries(&path_after), path_entries(&path_before));
    let uninstall = reg_tree(&wine, UNINSTALL_KEY).unwrap_or_default();
    assert_eq!(entries(&uninstall), 0, "{uninstall}");
    let (found, text) = crpki_on_path(&wine);
    assert!(!found, "crpki is still on the PATH: {text}");
    assert!(
        rw.config.join("tokens").read_dir().unwrap().next().is_some(),
        "the uninstall removed the token files"
    );

    // Signing by name now fails as for any provider that is not there.
    let text = wine.client(&client, &["acquire-error", "normal", NOT_REGISTERED]);
    assert!(text.contains(&format!("0x{NOT_REGISTERED}")), "{text}");

    println!(
        "msi: {size} bytes; build+pack {:.0} s (of which checks and two more packs {:.1} s), fresh prefix {:.1} s, \
         install {:.1} s, upgrade {:.1} s, uninstall {:.1} s, whole test {:.0} s",
        built.as_secs_f64(),
        (packed - built).as_secs_f64(),
        (made - packed).as_secs_f64(),
        install_time.as_secs_f64(),
        upgrade_time.as_secs_f64(),
        uninstall_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

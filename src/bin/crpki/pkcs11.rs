//! `crpki install pkcs11` and `crpki uninstall pkcs11`: a p11-kit module
//! file for the user, so that p11-kit, GnuTLS and OpenSC-based programs find
//! the PKCS#11 module, and the commands for NSS and OpenSSL, which keep
//! their own lists.

use std::path::{Path, PathBuf};

use crate::{CliResult, fail};

/// The module's file name on this platform.
const MODULE_FILE: &str = if cfg!(target_os = "macos") {
    "libcrpki.dylib"
} else {
    "libcrpki.so"
};

/// `$XDG_CONFIG_HOME/pkcs11/modules/crpki.module` (default `~/.config`):
/// where p11-kit reads the user's modules.
fn module_file() -> CliResult<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let config = env("XDG_CONFIG_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".config")))
        .ok_or_else(|| fail("neither XDG_CONFIG_HOME nor HOME is set"))?;
    Ok(config.join("pkcs11").join("modules").join("crpki.module"))
}

/// The module named on the command line, else the one next to `crpki`;
/// absolute, and it must exist.
fn module_or_default(module: Option<PathBuf>) -> CliResult<PathBuf> {
    let module = match module {
        Some(m) => m,
        None => std::env::current_exe()
            .map_err(|e| fail(format!("cannot find crpki's directory: {e}")))?
            .with_file_name(MODULE_FILE),
    };
    std::fs::canonicalize(&module).map_err(|e| {
        fail(format!(
            "the PKCS#11 module {} cannot be used ({e}); build it with `cargo build --release --lib \
             --no-default-features --features pkcs11,pkcs12,remote` and give it with --module",
            crpki::text::path(&module)
        ))
    })
}

/// The OpenSSL configuration for libp11's engine with `module`.
pub fn openssl_snippet(module: &Path) -> String {
    format!(
        "openssl_conf = openssl_init\n\n[openssl_init]\nengines = engine_section\n\n[engine_section]\npkcs11 = \
         pkcs11_section\n\n[pkcs11_section]\nengine_id = pkcs11\nMODULE_PATH = {}\ninit = 0\n",
        module.display()
    )
}

/// `crpki install pkcs11`.
pub fn install(module: Option<PathBuf>) -> CliResult {
    let module = module_or_default(module)?;
    let file = module_file()?;
    let dir = file
        .parent()
        .ok_or_else(|| fail("no directory for the module file"))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| fail(format!("cannot create {}: {e}", crpki::text::path(dir))))?;
    let text = format!(
        "# Written by `crpki install pkcs11`; `crpki uninstall pkcs11` removes it.\nmodule: {}\ncritical: no\n",
        module.display()
    );
    std::fs::write(&file, text)
        .map_err(|e| fail(format!("cannot write {}: {e}", crpki::text::path(&file))))?;
    out!(
        "installed the PKCS#11 module {} for p11-kit: {}",
        crpki::text::path(&module),
        crpki::text::path(&file)
    );
    out!("check with: p11-kit list-modules");
    out!("");
    out!("NSS (Firefox, Thunderbird, LibreOffice) keeps its own list; with the application closed:");
    out!(
        "  modutil -dbdir sql:$HOME/.pki/nssdb -add crpki -libfile '{}'",
        module.display()
    );
    out!("  (Firefox: sql:PROFILE_DIRECTORY instead, or Settings > Security Devices > Load)");
    out!("");
    out!("OpenSSL with libp11's engine (libengine-pkcs11-openssl), in the file OPENSSL_CONF names:");
    out!("{}", openssl_snippet(&module));
    out!(
        "  then: openssl cms -sign -engine pkcs11 -keyform engine -inkey 'pkcs11:object=CREDENTIAL;type=private' ..."
    );
    Ok(())
}

/// `crpki uninstall pkcs11`.
pub fn uninstall() -> CliResult {
    let file = module_file()?;
    match std::fs::remove_file(&file) {
        Ok(()) => out!("removed {}", crpki::text::path(&file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out!("{} was not there: nothing to remove", crpki::text::path(&file))
        }
        Err(e) => return Err(fail(format!("cannot remove {}: {e}", crpki::text::path(&file)))),
    }
    out!("NSS: modutil -dbdir sql:$HOME/.pki/nssdb -delete crpki");
    Ok(())
}

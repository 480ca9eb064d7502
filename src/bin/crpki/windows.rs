//! The Windows side of the tool: installing the CSP or the KSP, and
//! binding the chosen credential's certificate to one of them in the
//! user's certificate store. Elsewhere (or without the `csp`/`ksp`
//! features) the commands say they are for Windows and the hooks do
//! nothing.

use std::path::PathBuf;

use clap::Subcommand;

use crpki::profile::WindowsProvider;

use crate::{CliResult, fail};

#[derive(Subcommand)]
pub enum InstallCommand {
    /// Register the CryptoAPI CSP (crpki.dll) so that Windows applications can sign with it
    /// (needs an administrator; Windows only).
    Csp {
        /// The DLL (default: crpki.dll next to crpki.exe).
        #[arg(long)]
        dll: Option<PathBuf>,
    },
    /// Register the CNG key storage provider (a crpki.dll built with `ksp`) through
    /// BCryptRegisterProvider (needs an administrator; Windows only).
    Ksp {
        /// The DLL (default: crpki.dll next to crpki.exe).
        #[arg(long)]
        dll: Option<PathBuf>,
    },
    /// Install the PKCS#11 module for the user: a p11-kit module file (p11-kit, GnuTLS,
    /// OpenSC), and print the NSS and OpenSSL commands (Linux, macOS).
    Pkcs11 {
        /// The module (default: libcrpki.so, or libcrpki.dylib, next to crpki).
        #[arg(long)]
        module: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum UninstallCommand {
    /// Remove the CSP's registration and the certificates bound to it (Windows only).
    Csp,
    /// Remove the KSP's registration and the certificates bound to it (Windows only).
    Ksp,
    /// Remove the user's p11-kit module file of the PKCS#11 module.
    Pkcs11,
}

/// The DLL named on the command line, else crpki.dll next to crpki.exe.
#[cfg(windows)]
fn dll_or_default(dll: Option<PathBuf>) -> CliResult<PathBuf> {
    match dll {
        Some(d) => Ok(d),
        None => Ok(std::env::current_exe()
            .map_err(|e| fail(format!("cannot find crpki.exe's directory: {e}")))?
            .with_file_name("crpki.dll")),
    }
}

#[cfg(all(windows, feature = "ksp"))]
fn install_ksp(dll: Option<PathBuf>) -> CliResult {
    let dll = dll_or_default(dll)?;
    crpki::provider::install_ksp(&dll)?;
    out!("installed the KSP {}", crpki::text::path(&dll));
    Ok(())
}

#[cfg(all(windows, feature = "ksp"))]
fn uninstall_ksp() -> CliResult {
    let removed = crpki::provider::certstore::unbind_certificates(Some(WindowsProvider::Ksp), None)?;
    crpki::provider::unregister_ksp()?;
    out!("uninstalled the KSP ({removed} certificate binding(s) removed)");
    Ok(())
}

#[cfg(not(all(windows, feature = "ksp")))]
fn install_ksp(_dll: Option<PathBuf>) -> CliResult {
    Err(fail(
        "`crpki install ksp` is for Windows builds of crpki (with the ksp feature)",
    ))
}

#[cfg(not(all(windows, feature = "ksp")))]
fn uninstall_ksp() -> CliResult {
    Err(fail(
        "`crpki uninstall ksp` is for Windows builds of crpki (with the ksp feature)",
    ))
}

#[cfg(all(windows, feature = "csp"))]
pub fn install(command: InstallCommand) -> CliResult {
    let dll = match command {
        InstallCommand::Csp { dll } => dll_or_default(dll)?,
        InstallCommand::Ksp { dll } => return install_ksp(dll),
        InstallCommand::Pkcs11 { module } => return crate::pkcs11::install(module),
    };
    crpki::provider::install_csp(&dll)?;
    out!("installed the CSP {}", crpki::text::path(&dll));
    Ok(())
}

#[cfg(all(windows, feature = "csp"))]
pub fn uninstall(command: UninstallCommand) -> CliResult {
    if let UninstallCommand::Pkcs11 = command {
        return crate::pkcs11::uninstall();
    }
    if let UninstallCommand::Ksp = command {
        return uninstall_ksp();
    }
    let removed = crpki::provider::certstore::unbind_certificates(Some(WindowsProvider::Csp), None)?;
    crpki::provider::uninstall_csp()?;
    out!("uninstalled the CSP ({removed} certificate binding(s) removed)");
    Ok(())
}

#[cfg(not(all(windows, feature = "csp")))]
pub fn install(command: InstallCommand) -> CliResult {
    match command {
        InstallCommand::Ksp { dll } => install_ksp(dll),
        InstallCommand::Pkcs11 { module } => crate::pkcs11::install(module),
        InstallCommand::Csp { .. } => Err(fail(
            "`crpki install csp` is for Windows builds of crpki (with the csp feature)",
        )),
    }
}

#[cfg(not(all(windows, feature = "csp")))]
pub fn uninstall(command: UninstallCommand) -> CliResult {
    match command {
        UninstallCommand::Ksp => uninstall_ksp(),
        UninstallCommand::Pkcs11 => crate::pkcs11::uninstall(),
        UninstallCommand::Csp => Err(fail(
            "`crpki uninstall csp` is for Windows builds of crpki (with the csp feature)",
        )),
    }
}

/// After `crpki certs use ID`: the chosen certificate becomes the one bound
/// to `provider` in the CurrentUser `MY` store (the previous binding goes).
#[cfg(all(windows, any(feature = "csp", feature = "ksp")))]
pub fn bind(certificate: Option<&crpki::Certificate>, id: &str, provider: WindowsProvider) {
    let Some(cert) = certificate else {
        eprintln!(
            "warning: the service returned no certificate for {id}: nothing bound to the crpki {provider}"
        );
        return;
    };
    let rsa = cert
        .public_key()
        .is_ok_and(|k| k.info().algorithm == crpki::KeyAlgorithm::Rsa);
    if provider == WindowsProvider::Csp && !rsa {
        eprintln!(
            "warning: the crpki CSP signs with RSA keys only; {id} is not bound. CNG applications can use \
             it through the KSP: crpki certs use {id} --provider ksp"
        );
        return;
    }
    match crpki::provider::certstore::bind_certificate(cert.der(), id, provider) {
        Ok(()) => out!(
            "certificate of {id} bound to the crpki {} in your certificate store",
            provider.as_str().to_uppercase()
        ),
        Err(e) => eprintln!("warning: could not bind the certificate to the crpki {provider}: {e}"),
    }
}

#[cfg(not(all(windows, any(feature = "csp", feature = "ksp"))))]
pub fn bind(_certificate: Option<&crpki::Certificate>, _id: &str, _provider: WindowsProvider) {}

/// After `crpki logout`: the certificates bound to our providers go.
#[cfg(all(windows, any(feature = "csp", feature = "ksp")))]
pub fn unbind() {
    match crpki::provider::certstore::unbind_certificates(None, None) {
        Ok(0) => {}
        Ok(n) => out!("{n} certificate binding(s) to the crpki providers removed"),
        Err(e) => eprintln!("warning: could not remove the certificate bindings of the crpki providers: {e}"),
    }
}

#[cfg(not(all(windows, any(feature = "csp", feature = "ksp"))))]
pub fn unbind() {}

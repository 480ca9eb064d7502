//! The wrapper every export runs its body in.
//!
//! Our DLLs live in other people's processes: a panic must never unwind
//! into C (undefined behaviour) nor abort the host. [`guard`] catches it,
//! and turns every failure into a status code through the one mapping
//! function, logging the failure on the way.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::error::{Api, ProviderError, status_code};
use super::log::ErrorLog;

/// Runs `body` for the export `export`: its value, or the status code to
/// return, with the failure logged to [`ErrorLog::global`].
pub fn guard<T>(
    export: &'static str,
    api: Api,
    body: impl FnOnce() -> Result<T, ProviderError>,
) -> Result<T, u32> {
    guard_with(ErrorLog::global(), export, api, body)
}

/// [`guard`] with an explicit log.
pub fn guard_with<T>(
    log: &ErrorLog,
    export: &'static str,
    api: Api,
    body: impl FnOnce() -> Result<T, ProviderError>,
) -> Result<T, u32> {
    catch_panic(body, ProviderError::Panic).map_err(|err| {
        let code = status_code(&err, api);
        if !err.is_protocol_signal() {
            log.failure(export, code, &full_text(&err));
        }
        code
    })
}

/// Runs `body`, turning a panic into the error `on_panic` makes of its
/// text: the one place where exports catch panics (the PKCS#11 module's
/// exports use it with their own error type).
pub fn catch_panic<T, E>(
    body: impl FnOnce() -> Result<T, E>,
    on_panic: impl FnOnce(String) -> E,
) -> Result<T, E> {
    // Every object the body touches lives behind locks that tolerate
    // poisoning, so observing state after a caught panic is safe.
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(on_panic(text))
    })
}

/// The error's message followed by its sources.
pub(crate) fn full_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::error::codes::*;

    #[test]
    fn passes_values_and_maps_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let log = ErrorLog::at(&path);
        assert_eq!(
            guard_with(&log, "CPGetProvParam", Api::CryptoApi, || Ok(7)),
            Ok(7)
        );
        let r: Result<(), u32> = guard_with(&log, "CPGetUserKey", Api::CryptoApi, || {
            Err(ProviderError::NoKey("AT_KEYEXCHANGE".into()))
        });
        assert_eq!(r, Err(NTE_NO_KEY));
        let r: Result<(), u32> = guard_with(&log, "CPSignHash", Api::CryptoApi, || {
            Err(crate::Error::InteractionRequired {
                detail: "GビズID login".into(),
            }
            .into())
        });
        assert_eq!(r, Err(NTE_SILENT_CONTEXT));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("CPGetUserKey 0x8009000d NTE_NO_KEY no key: AT_KEYEXCHANGE"));
        assert!(
            text.contains(
                "CPSignHash 0x80090022 NTE_SILENT_CONTEXT user interaction required: GビズID login"
            )
        );
    }

    #[test]
    fn protocol_signals_are_not_logged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let log = ErrorLog::at(&path);
        let r: Result<(), u32> = guard_with(&log, "CPGetKeyParam", Api::CryptoApi, || {
            Err(ProviderError::MoreData { needed: 9 })
        });
        assert_eq!(r, Err(ERROR_MORE_DATA));
        let r: Result<(), u32> = guard_with(&log, "CPGetProvParam", Api::Cng, || {
            Err(ProviderError::NoMoreItems)
        });
        assert_eq!(r, Err(NTE_NO_MORE_ITEMS));
        assert!(!path.exists());
    }

    #[test]
    fn panics_become_nte_fail_and_a_log_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let log = ErrorLog::at(&path);
        let r: Result<u8, u32> = guard_with(&log, "CPHashData", Api::CryptoApi, || panic!("boom {}", 42));
        assert_eq!(r, Err(NTE_FAIL));
        let r: Result<u8, u32> = guard_with(&log, "CPHashData", Api::Cng, || std::panic::panic_any(5u8));
        assert_eq!(r, Err(NTE_FAIL));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("CPHashData 0x80090020 NTE_FAIL panic: boom 42"),
            "{text}"
        );
        assert!(text.contains("panic: unknown panic"), "{text}");
    }
}

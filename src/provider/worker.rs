//! The one thread that runs the provider's asynchronous work.
//!
//! Signers are async (a remote signature is an HTTPS round trip, maybe a
//! wait for the user's approval), the exports are synchronous. The worker
//! thread owns a tokio runtime; an export hands it a future and blocks until
//! the answer comes back. Requests from several caller threads run
//! concurrently on the runtime, and no caller thread ever enters tokio, so
//! a host application that has its own runtime is not disturbed.
//!
//! The thread starts on the first request (a DLL must not start threads
//! while the loader lock is held) and then lives as long as the process;
//! `on_start` runs first, which is where a DLL pins itself in memory so
//! that the host unloading it cannot pull the code from under the thread.
//! A process made by `fork` has only the thread that forked: the worker
//! notices the new process id and starts its own thread there (the PKCS#11
//! module's children call `C_Initialize` again and go on).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

use tokio::sync::mpsc as tokio_mpsc;

use super::error::ProviderError;
use crate::error::Error;

type Job = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Default limit for one request, user approval included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The worker thread and its runtime.
pub struct Worker {
    /// The channel to the thread, and the process that started it.
    sender: Mutex<Option<(u32, tokio_mpsc::UnboundedSender<Job>)>>,
    timeout: Duration,
    on_start: Option<fn()>,
}

crate::crypto::debug_fields!(Worker { timeout, .. });

impl Worker {
    /// A worker whose requests each time out after `timeout`; `on_start`
    /// runs once, before the thread is started.
    pub fn new(timeout: Duration, on_start: Option<fn()>) -> Self {
        Self {
            sender: Mutex::new(None),
            timeout,
            on_start,
        }
    }

    fn sender(&self) -> Result<tokio_mpsc::UnboundedSender<Job>, ProviderError> {
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        match slot.take() {
            Some((p, tx)) if p == pid && !tx.is_closed() => {
                *slot = Some((p, tx.clone()));
                return Ok(tx);
            }
            // A child of `fork` has no copy of the parent's thread: the
            // old channel leads nowhere, and is left alone (dropping it
            // could touch state the parent's runtime owned).
            Some((p, tx)) if p != pid => std::mem::forget(tx),
            _ => {}
        }
        if let Some(hook) = self.on_start {
            hook();
        }
        let (tx, mut rx) = tokio_mpsc::unbounded_channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        std::thread::Builder::new()
            .name("crpki-provider".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                rt.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        // A panicking job only fails its own request.
                        tokio::spawn(job);
                    }
                });
            })
            .map_err(|e| ProviderError::Internal(format!("cannot start the worker thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| ProviderError::Internal("the worker thread died while starting".into()))?
            .map_err(|e| ProviderError::Internal(format!("cannot start the async runtime: {e}")))?;
        *slot = Some((pid, tx.clone()));
        Ok(tx)
    }

    /// Runs `future` on the worker and waits for its result.
    ///
    /// Past the timeout the request fails with [`Error::Cancelled`]; a
    /// panic inside the future fails it with [`ProviderError::Internal`].
    pub fn run<T, F>(&self, future: F) -> Result<T, ProviderError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        let timeout = self.timeout;
        let job: Job = Box::pin(async move {
            let result = match tokio::time::timeout(timeout, future).await {
                Ok(r) => r,
                Err(_) => Err(Error::Cancelled {
                    detail: format!("no answer within {} s", timeout.as_secs()),
                }),
            };
            let _ = reply_tx.send(result);
        });
        self.sender()?
            .send(job)
            .map_err(|_| ProviderError::Internal("the worker thread has stopped".into()))?;
        match reply_rx.recv() {
            Ok(result) => result.map_err(ProviderError::from),
            Err(_) => Err(ProviderError::Internal(
                "the request failed inside the worker (panic)".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static STARTS: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn runs_futures_and_starts_once() {
        fn hook() {
            STARTS.fetch_add(1, Ordering::SeqCst);
        }
        let w = Worker::new(DEFAULT_TIMEOUT, Some(hook));
        assert_eq!(w.run(async { Ok(1 + 1) }).unwrap(), 2);
        let name = w
            .run(async { Ok(std::thread::current().name().map(str::to_owned)) })
            .unwrap();
        assert_eq!(name.as_deref(), Some("crpki-provider"));
        assert_eq!(STARTS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn errors_pass_through() {
        let w = Worker::new(DEFAULT_TIMEOUT, None);
        let e = w
            .run::<(), _>(async {
                Err(Error::NotFound {
                    what: "container x".into(),
                })
            })
            .unwrap_err();
        assert!(matches!(e, ProviderError::Crate(Error::NotFound { .. })), "{e:?}");
    }

    #[test]
    fn a_panicking_request_fails_alone() {
        let w = Worker::new(DEFAULT_TIMEOUT, None);
        let e = w
            .run::<(), _>(async {
                if std::hint::black_box(true) {
                    panic!("inside the worker");
                }
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(e, ProviderError::Internal(_)), "{e:?}");
        assert_eq!(w.run(async { Ok("still alive") }).unwrap(), "still alive");
    }

    #[test]
    fn requests_time_out() {
        let w = Worker::new(Duration::from_millis(20), None);
        let e = w
            .run::<(), _>(async {
                std::future::pending::<()>().await;
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(e, ProviderError::Crate(Error::Cancelled { .. })),
            "{e:?}"
        );
    }

    #[test]
    fn concurrent_callers_are_served_concurrently() {
        // Each request waits for all four to have arrived: this only finishes
        // if the worker runs them at the same time.
        let w = Arc::new(Worker::new(DEFAULT_TIMEOUT, None));
        let barrier = Arc::new(tokio::sync::Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (w, barrier) = (w.clone(), barrier.clone());
                std::thread::spawn(move || {
                    w.run(async move {
                        barrier.wait().await;
                        Ok(i)
                    })
                    .unwrap()
                })
            })
            .collect();
        let mut got: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, vec![0, 1, 2, 3]);
    }
}

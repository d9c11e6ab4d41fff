//! The future that resolves when the process is asked to stop: SIGINT (Ctrl-C) or SIGTERM.
//! A second signal while the graceful shutdown is still waiting (e.g. on a slow Autotask call)
//! ends the process at once.

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Registers the signal handlers now and returns a future that resolves on the first SIGINT or
/// SIGTERM. Call it before announcing readiness: a signal that arrives between the ready line
/// and the first poll is then still a graceful stop, not the default "terminate at once".
/// Must be called inside the tokio runtime. A handler that cannot be installed is logged and
/// that signal is not awaited (the other still works).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT");
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM");
    async move {
        let name = next_signal(&mut interrupt, &mut terminate).await;
        tracing::info!("{name} received, shutting down (send it again to stop at once)");
        tokio::spawn(async move {
            let name = next_signal(&mut interrupt, &mut terminate).await;
            eprintln!("{name} received again: stopping now");
            std::process::exit(130);
        });
    }
}

fn listen(kind: SignalKind, name: &str) -> Option<Signal> {
    match signal(kind) {
        Ok(stream) => Some(stream),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for {name}");
            None
        }
    }
}

async fn next_signal(
    interrupt: &mut Option<Signal>,
    terminate: &mut Option<Signal>,
) -> &'static str {
    let interrupted = async {
        match interrupt {
            Some(stream) => {
                stream.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let terminated = async {
        match terminate {
            Some(stream) => {
                stream.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupted => "Ctrl-C",
        () = terminated => "SIGTERM",
    }
}

//! The future that resolves when the process is asked to stop: SIGINT (Ctrl-C) or SIGTERM.
//! A second signal while the graceful shutdown is still waiting (e.g. on a slow Autotask call)
//! ends the process at once.

/// Resolves on the first SIGINT or SIGTERM. If a handler cannot be installed, that signal is
/// simply not awaited (the other still works) and the failure is logged.
pub async fn shutdown_signal() {
    let name = next_signal().await;
    tracing::info!("{name} received, shutting down (send it again to stop at once)");
    tokio::spawn(async {
        let name = next_signal().await;
        eprintln!("{name} received again: stopping now");
        std::process::exit(130);
    });
}

async fn next_signal() -> &'static str {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => "Ctrl-C",
        () = terminate => "SIGTERM",
    }
}

//! `photoshelter-standin`: loads the Tate library, prints `listening on http://ADDR` once the
//! socket is bound, and serves until Ctrl-C or SIGTERM.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use loci_standin::auth::Credentials;
use loci_standin::config::Args;
use loci_standin::oauth::OAuthSettings;
use loci_standin::server;
use loci_standin::state::AppState;
use tracing_subscriber::EnvFilter;

/// Worker threads of the async runtime; the stand-in is I/O-light.
const WORKER_THREADS: usize = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(WORKER_THREADS).enable_all().build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };

    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let started = Instant::now();
    let library = loci_standin::load_library(&args.data, args.limit, &args.org_id)
        .map_err(|error| format!("start-up failed: {error}"))?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
    let address = listener.local_addr().map_err(|error| format!("cannot read the bound address: {error}"))?;

    tracing::info!(
        media = library.media.len(),
        galleries = library.galleries.len(),
        collections = library.collections.len(),
        listen = %address,
        data = %args.data.display(),
        startup_ms = started.elapsed().as_millis(),
        "PhotoShelter stand-in ready"
    );

    let credentials =
        Credentials { api_key: args.api_key, email: args.email, password: args.password, org_id: args.org_id };
    let oauth = OAuthSettings {
        client_id: args.oauth_client_id,
        client_secret: args.oauth_client_secret,
        refresh_token: args.oauth_refresh_token,
        token_lifetime: Duration::from_secs(args.oauth_token_lifetime),
    };
    let state = AppState::with_oauth(library, credentials, oauth);

    // Scripts wait for this exact line on stdout before sending requests.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{address}")
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("cannot write to stdout: {error}"))?;

    server::serve(listener, state, shutdown_signal()).await.map_err(|error| format!("server failed: {error}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
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
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

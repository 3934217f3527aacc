//! `warden serve`: the detection service.

use anyhow::{Context, Result};
use warden_server::{AppState, ServiceConfig};
use warden_store::Store;

use crate::cli::ServeArgs;

pub fn serve(a: &ServeArgs) -> Result<()> {
    let mut cfg = ServiceConfig::load(a.config.as_deref(), |k| std::env::var(k).ok())?;
    if let Some(l) = &a.listen {
        cfg.server.listen = l.clone();
    }
    if let Some(s) = &a.store {
        cfg.server.store = s.clone();
    }
    cfg.validate()?;
    let addr: std::net::SocketAddr = cfg
        .server
        .listen
        .parse()
        .with_context(|| format!("--listen {}", cfg.server.listen))?;
    let store_path = cfg.server.store.clone();
    let store = Store::open_durable(&store_path, cfg.server.durability)?;
    let scheme = if cfg.server.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let mut state = AppState::new(cfg, store)?;
    let forward = crate::commands::worker::forward::forwarder(a)?;
    if let Some(log) = forward {
        eprintln!(
            "warden serve: ingest goes to {}, for `warden worker`s to detect on",
            log.target()
        );
        state = state.forwarding_to(log);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!(
            "warden serve: listening on {scheme}://{} (store {}); stop with Ctrl-C or SIGTERM",
            listener.local_addr().unwrap_or(addr),
            store_path.display()
        );
        warden_server::run(listener, state, shutdown_signal())
            .await
            .context("the server failed")?;
        eprintln!("warden serve: stopped; every accepted batch is stored");
        Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

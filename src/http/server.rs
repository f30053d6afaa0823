//! The HTTP listener: accepts connections up to a cap and serves each with hyper's HTTP/1,
//! instead of `axum::serve`, for three things it does not offer:
//!
//! - **A connection cap.** Past `max_connections` open connections a new one is closed at
//!   once and counted, like the TCP ingest listeners, so a client gone mad cannot exhaust
//!   file descriptors or memory.
//! - **A header timeout.** A client that opens a connection and sends headers slower than
//!   [`HEADER_READ_TIMEOUT`] is dropped (slowloris).
//! - **Half-closed requests are served.** Some clients (graypy's GELF HTTP handler among them)
//!   send a request and close without waiting for the reply; by default hyper may close the
//!   connection, and drop the request, as soon as it reads the end of stream. With
//!   `half_close` the request runs to the end, its data is stored, and only the reply is lost,
//!   as with Graylog. (The graypy test passes with either setting on an idle machine: the
//!   request usually completes before the end of stream is read.)
//!
//! Routing and handlers are the `Router`'s; this file only moves connections.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use lookout_core::selfmon::Registry;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::{debug, warn};

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a failed `accept` (out of file descriptors, most often) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` turns true, then lets every connection finish
/// its request in flight (hyper's graceful shutdown) and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    registry: &Registry,
    mut shutdown: watch::Receiver<bool>,
) {
    let labels = [("listener", "http")];
    let open = registry.gauge(
        "lookout_ingest_connections_open",
        "Open TCP connections.",
        &labels,
    );
    let rejected = registry.counter(
        "lookout_ingest_connections_rejected_total",
        "TCP connections closed at once because the listener was at its connection cap.",
        &labels,
    );
    let slots = Arc::new(Semaphore::new(max_connections));
    let (closing, close) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = async { drop(shutdown.wait_for(|stop| *stop).await) } => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        warn!("HTTP accept failed: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    rejected.inc();
                    debug!(%peer, "HTTP connection refused: at the connection cap");
                    continue;
                };
                let (app, mut close, open) = (app.clone(), close.clone(), open.clone());
                open.add(1);
                connections.spawn(async move {
                    serve_connection(stream, peer, app, &mut close).await;
                    open.add(-1);
                    drop(permit);
                });
            }
        }
    }
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    close: &mut watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.oneshot(request).await.unwrap_or_else(|e| match e {})) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .half_close(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                debug!(%peer, "HTTP connection ended: {e}");
            }
        }
        () = async { drop(close.wait_for(|c| *c).await) } => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

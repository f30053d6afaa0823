//! The HTTP listener: accepts connections up to a cap and serves each with hyper's HTTP/1,
//! instead of `axum::serve`, for three things it does not offer:
//!
//! - **A connection cap.** Past `max_connections` open connections a new one is closed at
//!   once and counted, by the TCP ingest listeners' own accept loop, so a client gone mad
//!   cannot exhaust file descriptors or memory.
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
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use lookout_core::selfmon::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;
use tracing::debug;

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` turns true, then lets every connection finish
/// its request in flight (hyper's graceful shutdown) and returns once all are closed. The
/// accepting, the cap and its counters are the ingest listeners' own
/// (`lookout_ingest::serve_capped`, `listener="http"`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    registry: &Registry,
    shutdown: watch::Receiver<bool>,
) {
    let stop = shutdown.clone();
    lookout_ingest::serve_capped(
        registry,
        listener,
        "http",
        max_connections,
        shutdown,
        move |stream, peer| serve_connection(stream, peer, app.clone(), stop.clone()),
    )
    .await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
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
        () = async { drop(shutdown.wait_for(|stop| *stop).await) } => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

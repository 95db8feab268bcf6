//! The accept loop: HTTP/1.1 connections served by hyper, each request
//! handed to the router with the address it came from.
//!
//! `axum::serve` does the same, but sets no timer on hyper's connections,
//! and without one hyper enforces no timeout: a client that opens a
//! connection and sends nothing, or half a request head, holds it (and a
//! file descriptor) for ever, and a few thousand such clients exhaust the
//! node. Here every connection has [`HttpConfig::request_head_timeout`]:
//! from the moment it opens or finishes a response, the next request head
//! must arrive complete within it, so an idle keep-alive connection and a
//! trickling one alike are closed. (A WebSocket, once upgraded, leaves
//! hyper and keeps its own timeouts; see [`crate::http::ws`].)
//!
//! The router sees each request's peer as axum's
//! [`ConnectInfo<SocketAddr>`], which the limits read (see
//! [`crate::http::limits`]).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower_service::Service;

/// Timeouts of HTTP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// How long a connection may take to send a complete request head,
    /// counted from when it opened or its previous response was sent: the
    /// header-read timeout and the keep-alive idle timeout in one.
    pub request_head_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_head_timeout: Duration::from_secs(20),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops
/// accepting, lets each connection finish the request it is serving
/// (idle ones close at once) and returns when all are done.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: HttpConfig,
    shutdown: impl Future<Output = ()>,
) {
    let (closing, closing_rx) = watch::channel(false);
    // Each connection holds a sender; all dropped means all done.
    let (open, mut all_closed) = mpsc::channel::<Infallible>(1);
    futures::pin_mut!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: accepting again
                    // at once would spin; the backlog waits meanwhile.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            tcp,
            peer,
            router.clone(),
            config,
            closing_rx.clone(),
            open.clone(),
        ));
    }
    drop(listener);
    closing.send_replace(true);
    drop(open);
    let _ = all_closed.recv().await;
}

/// How long to wait after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    config: HttpConfig,
    mut closing: watch::Receiver<bool>,
    _open: mpsc::Sender<Infallible>,
) {
    // Without TCP_NODELAY, a live update written right after another waits
    // for the client's (delayed, up to 40 ms) acknowledgement of the first:
    // Nagle's algorithm holds small segments back.
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
    }
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move {
            let response: Response<Body> = router.call(request).await?;
            Ok::<_, Infallible>(response)
        }
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.request_head_timeout)
        .keep_alive(true);
    let connection = http
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    futures::pin_mut!(connection);
    let shutting_down = async move {
        let _ = closing.wait_for(|closing| *closing).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutting_down => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Timeouts, resets and malformed requests: the client's business.
        tracing::debug!(%error, %peer, "HTTP connection ended");
    }
}

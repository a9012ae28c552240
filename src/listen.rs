//! The server's listeners: HTTP/1.1 over TCP, or over TLS (rustls), built
//! from actix-web's own parts (actix-server, actix-http, actix-tls) the way
//! `HttpServer` builds them, with one thing more: a guard on each
//! connection ([`Refusals`]) that gives the two answers actix-http makes
//! before any handler runs — a request head larger than it reads (431) and
//! a request that is not HTTP (400), sent with an empty body — the JSON
//! error envelope every other refusal of the API has. Each connection
//! also gets `TCP_NODELAY` (screens get several small frames in a row).

use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::{HttpService, Request, Response};
use actix_server::Server;
use actix_service::{
    fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
};
use actix_web::dev::AppConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection's write buffer is flushed once it holds this much (actix's
/// default is 32 KiB into an 8 KiB buffer): a screen socket's snapshot,
/// handed over in 1 KiB slices (`ws::Paged`), then touches only the
/// buffer's first 4 KiB page. A response body of one piece is written
/// whole as before.
pub const WRITE_BUFFER_FLUSH: usize = 3 * 1024;

/// Whether the app is served over HTTPS (app data: a session cookie is
/// then `Secure`).
#[derive(Clone, Copy, Debug)]
pub struct Served {
    pub https: bool,
}

/// How the listener serves.
pub struct Listen {
    pub workers: usize,
    /// An idle keep-alive connection is closed after this.
    pub keep_alive: Duration,
    /// How long requests in flight get once the server stops accepting.
    pub shutdown_timeout: u64,
    /// HTTPS when set (HTTP/1.1 only).
    pub tls: Option<rustls::ServerConfig>,
}

/// Serves the app `factory` makes on `listener`; SIGTERM and Ctrl-C are
/// the caller's (`app.rs`).
pub fn serve<F, I, S, B>(factory: F, listener: TcpListener, listen: Listen) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as actix_service::Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let secure = listen.tls.is_some();
    let tls = listen.tls.map(|mut config| {
        // HTTP/1.1 only: what this listener speaks.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        actix_tls::accept::rustls_0_23::Acceptor::new(config)
    });
    let keep_alive = listen.keep_alive;
    let builder = Server::build()
        .workers(listen.workers.max(1))
        .shutdown_timeout(listen.shutdown_timeout)
        .disable_signals();
    // When the server stops, idle keep-alive connections close at once
    // (as actix-web's own server does).
    let stopping = builder.graceful_shutdown_signal();
    let app = move || {
        let factory = factory.clone();
        let stopping = stopping.clone();
        let mut http = HttpService::build()
            .keep_alive(keep_alive)
            .h1_write_buffer_size(WRITE_BUFFER_FLUSH)
            .local_addr(addr)
            .graceful_shutdown_signal(move || {
                let stopping = stopping.clone();
                async move { stopping.notified().await }
            });
        if secure {
            http = http.secure();
        }
        // The app's own configuration is the default one: what it needs
        // of the connection (whether it is HTTPS) it gets from `Served`.
        http.h1(map_config(
            factory().into_factory().map_err(|e| {
                let e: actix_web::Error = e.into();
                e.error_response()
            }),
            |()| AppConfig::default(),
        ))
    };
    let builder = match tls {
        None => builder.listen("triage-http", listener, move || {
            fn_service(|io: actix_web::rt::net::TcpStream| async move {
                let peer = io.peer_addr().ok();
                let _ = io.set_nodelay(true);
                Ok::<_, actix_http::error::DispatchError>((Refusals::new(Conn::Plain(io)), peer))
            })
            .and_then(app())
        })?,
        Some(acceptor) => builder.listen("triage-https", listener, move || {
            acceptor
                .clone()
                .map_err(|e| {
                    tracing::debug!(error = ?e, "TLS handshake failed");
                    actix_http::error::DispatchError::Io(io::Error::other("TLS handshake failed"))
                })
                .and_then(fn_service(
                    |tls: actix_tls::accept::rustls_0_23::TlsStream<
                        actix_web::rt::net::TcpStream,
                    >| async move {
                        let tcp = tls.get_ref().0;
                        let peer = tcp.peer_addr().ok();
                        let _ = tcp.set_nodelay(true);
                        Ok((Refusals::new(Conn::Tls(Box::new(tls))), peer))
                    },
                ))
                .and_then(app())
        })?,
    };
    Ok(builder.run())
}

/// A connection, plain or TLS: one type for the HTTP service of both.
pub enum Conn {
    Plain(actix_web::rt::net::TcpStream),
    Tls(Box<actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Conn::Tls(io) => Pin::new(&mut **io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Conn::Tls(io) => Pin::new(&mut **io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_flush(cx),
            Conn::Tls(io) => Pin::new(&mut **io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Conn::Tls(io) => Pin::new(&mut **io).poll_shutdown(cx),
        }
    }
}

/// A connection whose HTTP layer's own refusals (an empty-bodied 431 or
/// 400 that actix-http writes before any handler) are rewritten into the
/// JSON error envelope. Everything else passes through untouched; after a
/// protocol switch (a WebSocket) nothing is looked at.
pub struct Refusals<T> {
    io: T,
    /// A rewritten answer still to be written.
    pending: Vec<u8>,
    written: usize,
    /// The connection switched protocols (101): bytes are frames now.
    switched: bool,
}

impl<T> Refusals<T> {
    pub fn new(io: T) -> Self {
        Refusals {
            io,
            pending: Vec::new(),
            written: 0,
            switched: false,
        }
    }
}

impl<T: AsyncWrite + Unpin> Refusals<T> {
    /// Writes what is pending; ready when nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.pending[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Refusals<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Refusals<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.drain(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other.map(|r| r.map(|()| 0)),
        }
        if !this.switched {
            if let Some(answer) = enveloped(buf) {
                this.pending = answer;
                // Taken; written by this call or the next flush.
                return match this.drain(cx) {
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    _ => Poll::Ready(Ok(buf.len())),
                };
            }
            if buf.starts_with(b"HTTP/1.1 101 ") {
                this.switched = true;
            }
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_shutdown(cx),
            other => other,
        }
    }
}

/// The enveloped form of an answer actix-http made itself: `buf` is
/// exactly one response head with no body, a 431 or a 400.
fn enveloped(buf: &[u8]) -> Option<Vec<u8>> {
    let version = buf.get(..9)?;
    if version != b"HTTP/1.1 " && version != b"HTTP/1.0 " {
        return None;
    }
    let rest = &buf[9..];
    let (status, reason, code, message) = if rest.starts_with(b"431 ") {
        (
            431,
            "Request Header Fields Too Large",
            triage_ground::error::ErrorCode::HeadTooLarge,
            "the request's URL and headers are larger than 128 KiB",
        )
    } else if rest.starts_with(b"400 ") {
        (
            400,
            "Bad Request",
            triage_ground::error::ErrorCode::BadRequest,
            "the request cannot be read as HTTP",
        )
    } else {
        return None;
    };
    // One head, nothing after it, and no body announced.
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let lines: Vec<&str> = head.split("\r\n").skip(1).collect();
    let empty = lines.iter().any(|l| {
        l.split_once(':')
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("content-length") && v.trim() == "0")
    });
    if !empty {
        return None;
    }
    let body =
        serde_json::json!({"error": {"code": code.as_str(), "message": message}}).to_string();
    let mut out = format!(
        "{} {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        std::str::from_utf8(&version[..8]).ok()?,
        body.len()
    );
    for l in lines {
        let name = l.split(':').next().unwrap_or_default();
        if !name.eq_ignore_ascii_case("content-length")
            && !name.eq_ignore_ascii_case("content-type")
        {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::enveloped;

    #[test]
    fn the_http_layers_empty_refusals_get_the_envelope_and_nothing_else_changes() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: Wed, 09 Dec 2026 01:30:00 GMT\r\n\r\n";
        let out = String::from_utf8(enveloped(head).unwrap_or_default()).unwrap_or_default();
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert!(out.contains("content-type: application/json\r\n"), "{out}");
        assert!(out.contains("connection: close\r\n"), "{out}");
        let body = out.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert!(out.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(body.contains("request_head_too_large"), "{body}");
        let bad = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert!(enveloped(bad).is_some());
        // Our own answers (with a body) and everything else pass.
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"\x81\x05hello",
            b"HTTP/1.1 431 x",
        ] {
            assert_eq!(enveloped(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}

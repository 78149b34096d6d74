//! The endpoint front end: a PostgreSQL listener per compute endpoint on its loopback
//! address. It answers SSL and GSSAPI-encryption requests, asks for a cleartext password,
//! checks it as the service does (a database credential of the user's identity, or a
//! password role's password), wakes the branch's server, then relays the session to it.
//! Cancel requests are routed to the backend that owns the key.

use std::io;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::PgRuntime;
use super::protocol::{self, Initial, Startup};

/// Time a client has to finish the handshake (PostgreSQL's `authentication_timeout`).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// First byte of a TLS handshake record: a client using direct SSL negotiation.
const TLS_HANDSHAKE: u8 = 0x16;

/// Why a connection is refused: a FATAL error the client sees.
#[derive(Debug)]
pub struct Refusal {
    /// SQLSTATE.
    pub code: &'static str,
    /// Message.
    pub message: String,
}

impl Refusal {
    /// A refusal with SQLSTATE and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Where a session of an endpoint goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The branch's name.
    pub branch: String,
    /// The branch's cluster id.
    pub cluster: String,
    /// Sessions cannot write.
    pub read_only: bool,
}

/// A client connection, plain or TLS.
enum ClientIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl ClientIo {
    fn is_tls(&self) -> bool {
        matches!(self, ClientIo::Tls(_))
    }
}

impl AsyncRead for ClientIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One endpoint's listener.
pub struct Listener {
    /// The endpoint's resource name.
    pub endpoint: String,
    /// Its loopback address.
    pub host: Ipv4Addr,
    /// TLS settings for its host.
    pub tls: Arc<ServerConfig>,
}

/// Accepts connections until `stop` turns true; every session ends then too.
pub async fn serve(rt: Arc<PgRuntime>, listener: TcpListener, me: Arc<Listener>, stop: watch::Receiver<bool>) {
    let mut stop_accepting = stop.clone();
    loop {
        tokio::select! {
            _ = stop_accepting.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => {
                    let (rt, me, mut stop) = (rt.clone(), me.clone(), stop.clone());
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = stop.changed() => {}
                            _ = session(rt, me, sock) => {}
                        }
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
}

async fn session(rt: Arc<PgRuntime>, me: Arc<Listener>, sock: TcpStream) {
    let _ = sock.set_nodelay(true);
    let ready = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&rt, &me, sock)).await;
    let Ok(Ok(Some((mut client, mut backend, cancel_key, _guard)))) = ready else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
    if let Some(key) = cancel_key {
        rt.forget_cancel_key(key);
    }
}

type Session = (ClientIo, UnixStream, Option<(i32, i32)>, super::cluster::SessionGuard);

async fn refuse(io: &mut ClientIo, refusal: &Refusal) -> io::Result<Option<Session>> {
    io.write_all(&protocol::error_response("FATAL", refusal.code, &refusal.message))
        .await?;
    io.flush().await?;
    Ok(None)
}

async fn tls_upgrade(sock: TcpStream, tls: &Arc<ServerConfig>) -> io::Result<ClientIo> {
    let stream = TlsAcceptor::from(tls.clone()).accept(sock).await?;
    Ok(ClientIo::Tls(Box::new(stream)))
}

async fn handshake(rt: &Arc<PgRuntime>, me: &Listener, sock: TcpStream) -> io::Result<Option<Session>> {
    let mut first = [0u8; 1];
    let mut io = if sock.peek(&mut first).await? == 1 && first[0] == TLS_HANDSHAKE {
        tls_upgrade(sock, &me.tls).await?
    } else {
        ClientIo::Plain(sock)
    };
    let startup = loop {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let body_len = match protocol::initial_body_len(len) {
            Ok(n) => n,
            Err(e) => return refuse(&mut io, &Refusal::new("08P01", e.0)).await,
        };
        let mut body = vec![0u8; body_len];
        io.read_exact(&mut body).await?;
        match protocol::parse_initial(&body) {
            Ok(Initial::Startup(s)) => break s,
            Ok(Initial::Ssl) => match io {
                ClientIo::Plain(mut sock) => {
                    sock.write_all(b"S").await?;
                    io = tls_upgrade(sock, &me.tls).await?;
                }
                ClientIo::Tls(_) => {
                    return refuse(&mut io, &Refusal::new("08P01", "SSL negotiation already done")).await;
                }
            },
            Ok(Initial::GssEnc) => io.write_all(b"N").await?,
            Ok(Initial::Cancel { pid, key }) => {
                rt.forward_cancel(pid, key).await;
                return Ok(None);
            }
            Err(e) => return refuse(&mut io, &Refusal::new("08P01", e.0)).await,
        }
    };
    if rt.require_tls && !io.is_tls() {
        let message = format!(
            "connection to endpoint {} requires SSL (use sslmode=require); no encryption for user \"{}\", database \"{}\"",
            me.host,
            startup.user(),
            startup.database()
        );
        return refuse(&mut io, &Refusal::new("28000", message)).await;
    }
    let target = match rt.endpoint_target(&me.endpoint) {
        Ok(t) => t,
        Err(refusal) => return refuse(&mut io, &refusal).await,
    };
    io.write_all(&protocol::auth_cleartext()).await?;
    io.flush().await?;
    let mut header = [0u8; 5];
    io.read_exact(&mut header).await?;
    let (tag, len) = match protocol::typed_body_len(header, protocol::MAX_PASSWORD_LEN) {
        Ok(h) => h,
        Err(e) => return refuse(&mut io, &Refusal::new("08P01", e.0)).await,
    };
    if tag != b'p' {
        let message = format!("expected password response, got message type {}", tag as char);
        return refuse(&mut io, &Refusal::new("08P01", message)).await;
    }
    let mut body = vec![0u8; len];
    io.read_exact(&mut body).await?;
    let password = match protocol::parse_password(&body) {
        Ok(p) => p,
        Err(e) => return refuse(&mut io, &Refusal::new("08P01", e.0)).await,
    };
    if !rt.login_ok(&target.branch, startup.user(), &password) {
        let message = format!("password authentication failed for user \"{}\"", startup.user());
        return refuse(&mut io, &Refusal::new("28P01", message)).await;
    }
    drop(password);
    let cluster = rt.cluster(&target.cluster);
    let guard = cluster.session();
    if let Err(e) = rt.wake(&cluster).await {
        tracing::warn!(endpoint = %me.endpoint, error = %e, "compute did not start");
        let refusal = Refusal::new(
            "57P03",
            "the database system is starting up; the compute could not be started",
        );
        return refuse(&mut io, &refusal).await;
    }
    let mut backend = match UnixStream::connect(cluster.socket_path()).await {
        Ok(b) => b,
        Err(_) => return refuse(&mut io, &Refusal::new("57P03", "the database system is starting up")).await,
    };
    let mut startup: Startup = startup;
    if target.read_only {
        startup.set("default_transaction_read_only", "on");
    }
    backend.write_all(&startup.encode()).await?;
    let cancel_key = relay_until_ready(&mut backend, &mut io, rt, &cluster.socket_path()).await?;
    Ok(cancel_key.map(|key| (io, backend, key, guard)))
}

/// Relays the backend's answer to the startup message until `ReadyForQuery`, noting the
/// cancel key. `None` when the backend refused the session (its error was relayed).
async fn relay_until_ready(
    backend: &mut UnixStream,
    client: &mut ClientIo,
    rt: &Arc<PgRuntime>,
    socket: &std::path::Path,
) -> io::Result<Option<Option<(i32, i32)>>> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut key = None;
    loop {
        if backend.read_buf(&mut buf).await? == 0 {
            client.write_all(&buf).await?;
            client.flush().await?;
            return Ok(None);
        }
        let mut consumed = 0;
        let mut outcome = None;
        while let Some((tag, body, total)) = protocol::backend_message(&buf[consumed..]) {
            consumed += total;
            match tag {
                b'K' => {
                    if let Some(k) = protocol::backend_key(body) {
                        rt.remember_cancel_key(k, socket.to_path_buf());
                        key = Some(k);
                    }
                }
                b'Z' => outcome = Some(true),
                b'E' => outcome = Some(false),
                _ => {}
            }
        }
        client.write_all(&buf[..consumed]).await?;
        buf.drain(..consumed);
        match outcome {
            Some(true) => {
                client.write_all(&buf).await?;
                client.flush().await?;
                return Ok(Some(key));
            }
            Some(false) => {
                client.flush().await?;
                if let Some(k) = key {
                    rt.forget_cancel_key(k);
                }
                return Ok(None);
            }
            None => {}
        }
    }
}

/// Sends a cancel request to a backend's Unix socket.
pub async fn send_cancel(socket: &std::path::Path, pid: i32, key: i32) {
    if let Ok(mut s) = UnixStream::connect(socket).await {
        let _ = s.write_all(&protocol::cancel_request(pid, key)).await;
        let _ = s.flush().await;
    }
}

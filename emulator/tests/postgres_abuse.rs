//! The endpoint front end under abuse (`--postgres` mode): clients that give up halfway
//! through the handshake at every stage leave no file descriptor, process or backend behind,
//! and a wrong password never reaches the backing server. Skipped (with a message) only where
//! no PostgreSQL server binaries exist; CI installs them.

mod common;

use std::sync::LazyLock;
use std::time::Duration;

use common::T;
use lakebase_emulator::Emulator;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::{Client, NoTls};

const USER: &str = "alice@example.com";
const DB: &str = "databricks_postgres";
const ENDPOINT: &str = "projects/abuse/branches/production/endpoints/primary";
/// Half-finished handshakes per measured run.
const HANDSHAKES: usize = 1_000;

/// Held by each test for its whole run, emulator included: the leak test counts this
/// process's descriptors and child processes, which a test running beside it would change.
static ONE_AT_A_TIME: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

/// An emulator in `--postgres` mode holding project `abuse`, or `None` when this machine has
/// no PostgreSQL server binaries.
async fn emulator() -> Option<T> {
    let t = T::with_postgres(Emulator::builder(), USER).await?;
    let (status, op) = t.post("projects?project_id=abuse", json!({})).await;
    assert_eq!(status, 200, "{op}");
    t.finish(&op).await;
    Some(t)
}

/// The endpoint's `host:port`.
async fn address(t: &T) -> String {
    let (status, v) = t.get(ENDPOINT).await;
    assert_eq!(status, 200, "{v}");
    let host = v["status"]["hosts"]["host"].as_str().expect("host");
    format!("{host}:{}", t.emu.pg_port().expect("postgres mode"))
}

/// A fresh database credential of [`USER`] for the endpoint.
async fn token(t: &T) -> String {
    let (status, v) = t.post("credentials", json!({"endpoint": ENDPOINT})).await;
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().expect("token").to_string()
}

async fn login(addr: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let (client, conn) = tokio_postgres::Config::new()
        .host(host)
        .port(port.parse().expect("port"))
        .user(USER)
        .password(password)
        .dbname(DB)
        .connect_timeout(Duration::from_secs(30))
        .connect(NoTls)
        .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.expect(sql).get(0)
}

fn startup_message() -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for (k, v) in [("user", USER), ("database", DB)] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend(body);
    packet
}

fn password_message(password: &str) -> Vec<u8> {
    let mut packet = vec![b'p'];
    packet.extend_from_slice(&((password.len() + 5) as u32).to_be_bytes());
    packet.extend_from_slice(password.as_bytes());
    packet.push(0);
    packet
}

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
/// The start of a TLS ClientHello record: the handshake stops in the middle of it.
const PARTIAL_CLIENT_HELLO: [u8; 9] = [0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4];

/// Where a client gives up.
#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Connects and closes without a byte.
    NothingSent,
    /// Sends half a startup packet.
    PartialStartup,
    /// Sends an SSLRequest, reads the `S`, then nothing.
    SslRequestThenNothing,
    /// SSLRequest, then half a TLS ClientHello.
    TlsHalfDone,
    /// Direct TLS: half a ClientHello as the first bytes.
    DirectTlsHalfDone,
    /// A full startup packet, reads the password request, then nothing.
    StartupWithoutPassword,
    /// A full login with a wrong password; reads the refusal.
    WrongPassword,
}

const STAGES: [Stage; 7] = [
    Stage::NothingSent,
    Stage::PartialStartup,
    Stage::SslRequestThenNothing,
    Stage::TlsHalfDone,
    Stage::DirectTlsHalfDone,
    Stage::StartupWithoutPassword,
    Stage::WrongPassword,
];

/// Runs one client that stops at `stage`, then drops its connection.
async fn give_up_at(addr: &str, stage: Stage) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let startup = startup_message();
    match stage {
        Stage::NothingSent => {}
        Stage::PartialStartup => s.write_all(&startup[..startup.len() / 2]).await.expect("write"),
        Stage::SslRequestThenNothing | Stage::TlsHalfDone => {
            s.write_all(&SSL_REQUEST).await.expect("write");
            let mut answer = [0u8; 1];
            s.read_exact(&mut answer).await.expect("SSL answer");
            assert_eq!(&answer, b"S");
            if matches!(stage, Stage::TlsHalfDone) {
                s.write_all(&PARTIAL_CLIENT_HELLO).await.expect("write");
            }
        }
        Stage::DirectTlsHalfDone => s.write_all(&PARTIAL_CLIENT_HELLO).await.expect("write"),
        Stage::StartupWithoutPassword | Stage::WrongPassword => {
            s.write_all(&startup).await.expect("write");
            let mut request = [0u8; 9];
            s.read_exact(&mut request).await.expect("password request");
            assert_eq!(
                request,
                [b'R', 0, 0, 0, 8, 0, 0, 0, 3],
                "AuthenticationCleartextPassword"
            );
            if matches!(stage, Stage::WrongPassword) {
                s.write_all(&password_message("not-a-credential")).await.expect("write");
                let mut refusal = Vec::new();
                s.read_to_end(&mut refusal).await.expect("refusal");
                assert_eq!(refusal.first(), Some(&b'E'), "{refusal:?}");
                assert!(refusal.windows(5).any(|w| w == b"28P01"), "{refusal:?}");
            }
        }
    }
    drop(s);
}

/// What the emulator process and its servers hold at one moment.
#[derive(Debug, PartialEq)]
struct Footprint {
    /// Open file descriptors of this process (the emulator runs in it).
    fds: usize,
    /// Child processes of this process (the PostgreSQL servers).
    children: Vec<u32>,
    /// Client backends of the backing server.
    backends: i64,
}

async fn footprint(c: &Client) -> Footprint {
    let fds = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count();
    let backends = count(
        c,
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'",
    )
    .await;
    Footprint {
        fds,
        children: children_of(std::process::id()),
        backends,
    }
}

/// Process ids whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Resident memory of this process, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The footprint once the sessions the clients left have ended: polled until it is back to
/// `before` (the front end notices a closed connection at its next read), bounded.
async fn settled(c: &Client, before: &Footprint) -> Footprint {
    let mut now = footprint(c).await;
    for _ in 0..200 {
        if now == *before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = footprint(c).await;
    }
    now
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_half_finished_handshakes_leak_no_descriptor_process_or_memory() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(t) = emulator().await else { return };
    let addr = address(&t).await;
    let c = login(&addr, &token(&t).await).await.expect("login");
    // One round first, so that what is allocated once (TLS state, buffers) is in `before`.
    for stage in STAGES {
        give_up_at(&addr, stage).await;
    }
    let quiet = footprint(&c).await;
    let before = settled(&c, &quiet).await;
    let rss_before = rss_kib();
    for i in 0..HANDSHAKES {
        give_up_at(&addr, STAGES[i % STAGES.len()]).await;
    }
    let after = settled(&c, &before).await;
    let rss_after = rss_kib();
    eprintln!(
        "{HANDSHAKES} half-finished handshakes: fds {} -> {}, children {:?} -> {:?}, client backends {} -> {}, RSS {rss_before} KiB -> {rss_after} KiB",
        before.fds, after.fds, before.children, after.children, before.backends, after.backends
    );
    assert_eq!(after, before, "no descriptor, server process or backend is left behind");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    assert_eq!(count(&c, "SELECT 1::bigint").await, 1, "the open session still works");
    login(&addr, &token(&t).await).await.expect("a new login still works");
}

/// Sessions the backing server has established, all databases (`pg_stat_database.sessions`,
/// counted when a backend is started for a client).
async fn sessions_established(c: &Client) -> i64 {
    count(c, "SELECT sum(sessions)::bigint FROM pg_stat_database").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_never_reaches_the_backing_server() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(t) = emulator().await else { return };
    let addr = address(&t).await;
    let c = login(&addr, &token(&t).await).await.expect("login");
    let control = token(&t).await;
    // This session's own statistics reach the shared counters with its next statement.
    c.execute("SELECT pg_stat_force_next_flush()", &[])
        .await
        .expect("flush");
    let before = sessions_established(&c).await;
    for password in ["not-a-credential", "", "x".repeat(9_000).as_str()] {
        let e = login(&addr, password).await.expect_err("a wrong password is refused");
        let code = e.as_db_error().map(|d| d.code().code().to_string());
        assert_eq!(code.as_deref(), Some("28P01"), "{e}");
    }
    for _ in 0..50 {
        give_up_at(&addr, Stage::WrongPassword).await;
    }
    // The control: one good login, closed, is counted (its backend reports it as it exits).
    drop(login(&addr, &control).await.expect("login"));
    let mut now = sessions_established(&c).await;
    for _ in 0..200 {
        if now > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = sessions_established(&c).await;
    }
    assert_eq!(now, before + 1, "only the good login reached the backing server");
    let log = std::fs::read_dir(t.emu.postgres_log_dir().expect("log dir"))
        .expect("log dir")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect::<String>();
    assert!(!log.contains("not-a-credential"), "{log}");
}

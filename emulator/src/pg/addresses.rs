//! Loopback addresses for endpoints: every endpoint listens on its own `127.0.0.N` (Linux
//! routes all of `127.0.0.0/8` to the loopback interface), on the port every endpoint shares,
//! like the service's hosts that all listen on 5432.
//!
//! Addresses are handed out from a process-wide cursor and checked by binding, so emulators
//! running side by side (tests in one process, or several processes) never collide.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

use super::PgError;

/// First address handed out: `127.0.0.2` (`127.0.0.1` is left to local servers).
const FIRST: u32 = u32::from_be_bytes([127, 0, 0, 2]);
/// Last usable address of the block.
const LAST: u32 = u32::from_be_bytes([127, 255, 255, 254]);
/// Consecutive busy addresses after which the port is taken to be busy everywhere.
const BUSY_PROBES: usize = 8;

static CURSOR: AtomicU32 = AtomicU32::new(FIRST);

fn next_candidate() -> Ipv4Addr {
    let n = CURSOR
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
            let next = c + 1;
            let next = if next & 0xff == 0xff { next + 2 } else { next };
            Some(if next > LAST { FIRST } else { next })
        })
        .unwrap_or(FIRST);
    Ipv4Addr::from(n)
}

/// Binds a listener for a new endpoint: on `wanted` when given and free, else on the next
/// free loopback address.
pub fn bind(port: u16, wanted: Option<Ipv4Addr>) -> Result<(Ipv4Addr, TcpListener), PgError> {
    if let Some(ip) = wanted
        && let Ok(l) = TcpListener::bind(SocketAddrV4::new(ip, port))
    {
        return Ok((ip, l));
    }
    let mut busy = 0;
    for _ in 0..65_536 {
        let ip = next_candidate();
        match TcpListener::bind(SocketAddrV4::new(ip, port)) {
            Ok(l) => return Ok((ip, l)),
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                busy += 1;
                if busy == BUSY_PROBES && all_busy(port) {
                    return Err(port_busy(port));
                }
            }
            Err(e) if e.kind() == ErrorKind::AddrNotAvailable => return Err(not_routed(ip, port)),
            Err(e) => return Err(PgError::Setup(format!("bind {ip}:{port}: {e}"))),
        }
    }
    Err(port_busy(port))
}

/// Whether something (a server on the wildcard address) holds `port` on every loopback
/// address: three addresses far apart are all busy.
fn all_busy(port: u16) -> bool {
    [[127, 201, 13, 7], [127, 202, 77, 9], [127, 203, 151, 11]]
        .into_iter()
        .all(|ip| matches!(TcpListener::bind(SocketAddrV4::new(Ipv4Addr::from(ip), port)), Err(e) if e.kind() == ErrorKind::AddrInUse))
}

/// Checks at start-up that endpoints can listen on `port`.
pub fn probe(port: u16) -> Result<(), PgError> {
    let ip = Ipv4Addr::new(127, 0, 0, 2);
    match TcpListener::bind(SocketAddrV4::new(ip, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AddrInUse && all_busy(port) => Err(port_busy(port)),
        Err(e) if e.kind() == ErrorKind::AddrInUse => Ok(()),
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => Err(not_routed(ip, port)),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(PgError::Setup(format!(
            "not allowed to listen on port {port}: choose a port above 1023 with --pg-port"
        ))),
        Err(e) => Err(PgError::Setup(format!("cannot listen on {ip}:{port}: {e}"))),
    }
}

/// A free port for every endpoint (for `--pg-port 0`).
pub fn free_port() -> Result<u16, PgError> {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| PgError::Setup(format!("no free port: {e}")))
}

fn port_busy(port: u16) -> PgError {
    PgError::Setup(format!(
        "port {port} is already in use on the loopback addresses (is a PostgreSQL server listening on \
         *:{port}?); choose another port with --pg-port"
    ))
}

fn not_routed(ip: Ipv4Addr, port: u16) -> PgError {
    PgError::Setup(format!(
        "cannot listen on {ip}:{port}: this system does not route all of 127.0.0.0/8 to loopback (macOS: \
         add aliases first, e.g. `for i in $(seq 2 50); do sudo ifconfig lo0 alias 127.0.0.$i up; done`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_distinct_addresses_on_one_port() {
        let port = free_port().unwrap();
        let (a, _la) = bind(port, None).unwrap();
        let (b, _lb) = bind(port, None).unwrap();
        assert_ne!(a, b);
        assert!(a.is_loopback() && b.is_loopback());
        assert_ne!(a, Ipv4Addr::LOCALHOST);
        // A wanted address that is taken falls back to another one.
        let (c, _lc) = bind(port, Some(a)).unwrap();
        assert_ne!(c, a);
    }

    #[test]
    fn a_port_held_on_every_address_is_a_clear_error_naming_the_flag() {
        let wildcard = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = wildcard.local_addr().unwrap().port();
        let e = probe(port).unwrap_err().to_string();
        assert!(e.contains("--pg-port"), "{e}");
    }
}

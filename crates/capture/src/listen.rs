//! Where a program listens: its LISTEN sockets from /proc (so users need not know the port
//! in advance), and the `--load` URL with the port filled in.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};

use heaphound_load::LoadError;
use std::time::Duration;

/// A TCP socket in state LISTEN that belongs to the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub addr: SocketAddr,
    inode: u64,
}

/// The loopback address to reach a listener on: itself when it listens on loopback,
/// 127.0.0.1 or ::1 when it listens on every address, `None` for other addresses.
fn reach(addr: SocketAddr) -> Option<SocketAddr> {
    let ip = match addr.ip() {
        ip if ip.is_loopback() => ip,
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()) => {
            IpAddr::V4(v6.to_ipv4_mapped()?)
        }
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => return None,
    };
    Some(SocketAddr::new(ip, addr.port()))
}

/// The sockets the process has open (inodes from `/proc/PID/fd`).
fn socket_inodes(pid: u32) -> HashSet<u64> {
    let mut set = HashSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return set;
    };
    for e in dir.flatten() {
        if let Ok(target) = std::fs::read_link(e.path()) {
            let t = target.to_string_lossy();
            if let Some(n) = t
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
            {
                set.insert(n);
            }
        }
    }
    set
}

/// Parses `/proc/net/tcp`-style text: LISTEN sockets with their inodes.
fn parse_tcp_table(text: &str, v6: bool) -> Vec<Listener> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || f[3] != "0A" {
            continue;
        }
        let Some((ip_hex, port_hex)) = f[1].split_once(':') else {
            continue;
        };
        let (Ok(port), Ok(inode)) = (u16::from_str_radix(port_hex, 16), f[9].parse::<u64>()) else {
            continue;
        };
        let ip = if v6 {
            if ip_hex.len() != 32 {
                continue;
            }
            // Four 32-bit words, each in host (little-endian) byte order.
            let mut bytes = [0u8; 16];
            let mut ok = true;
            for w in 0..4 {
                match u32::from_str_radix(&ip_hex[w * 8..w * 8 + 8], 16) {
                    Ok(word) => bytes[w * 4..w * 4 + 4].copy_from_slice(&word.to_le_bytes()),
                    Err(_) => ok = false,
                }
            }
            if !ok {
                continue;
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        } else {
            match u32::from_str_radix(ip_hex, 16) {
                Ok(word) => IpAddr::V4(Ipv4Addr::from(word.to_le_bytes())),
                Err(_) => continue,
            }
        };
        out.push(Listener {
            addr: SocketAddr::new(ip, port),
            inode,
        });
    }
    out
}

/// The process's LISTEN sockets that loopback can reach, `exclude` (its inspector port)
/// left out: loopback ones first, then wildcard ones, each in the order they were opened.
pub fn listeners(pid: u32, exclude: u16) -> Vec<Listener> {
    let inodes = socket_inodes(pid);
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut all = Vec::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) {
            all.extend(parse_tcp_table(&text, v6));
        }
    }
    all.retain(|l| {
        inodes.contains(&l.inode) && l.addr.port() != exclude && reach(l.addr).is_some()
    });
    // Loopback before wildcard, then the oldest socket (the smallest inode) first.
    all.sort_by_key(|l| (!l.addr.ip().is_loopback(), l.inode));
    all.dedup_by_key(|l| l.addr);
    all
}

/// The address to send load to for the first listener: one that accepts a connection now.
pub fn first_reachable(pid: u32, exclude: u16) -> Option<SocketAddr> {
    for l in listeners(pid, exclude) {
        let primary = reach(l.addr)?;
        let mut candidates = vec![primary];
        if l.addr.ip().is_unspecified() && primary.is_ipv6() {
            candidates.push(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                l.addr.port(),
            ));
        }
        for c in candidates {
            if accepts(c) {
                return Some(c);
            }
        }
    }
    None
}

/// A TCP connection to `addr` succeeds (and is closed at once).
pub fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// What `--load` names: the port may be missing, or the URL may be a path only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadUrl {
    /// `None` for a path-only URL: the host is where the program listens.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl LoadUrl {
    pub fn parse(url: &str) -> Result<LoadUrl, String> {
        match heaphound_load::parse_parts(url.trim()) {
            Ok(p) => Ok(LoadUrl {
                host: p.host,
                port: p.port,
                path: p.path,
            }),
            Err(LoadError::BadUrl { reason, .. }) => Err(format!("--load {url:?}: {reason}")),
            Err(e) => Err(format!("--load {url:?}: {e}")),
        }
    }

    /// The full URL once the address is known.
    pub fn with(&self, addr: SocketAddr) -> String {
        let host = match &self.host {
            Some(h) => h.clone(),
            None => addr.ip().to_string(),
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        format!("http://{host}:{}{}", addr.port(), self.path)
    }

    /// The host's addresses with `port`; `Err` when one is not loopback and remote load is
    /// not allowed ([`LoadError::RemoteRefused`]: the caller names how to allow it).
    pub fn resolve(&self, port: u16, allow_remote: bool) -> Result<Vec<SocketAddr>, LoadError> {
        let host = self.host.as_deref().unwrap_or("127.0.0.1");
        heaphound_load::resolve_host(host, port, allow_remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_urls() {
        let u = LoadUrl::parse("/items?user=1").unwrap();
        assert_eq!(
            (u.host.as_deref(), u.port, u.path.as_str()),
            (None, None, "/items?user=1")
        );
        let u = LoadUrl::parse("http://localhost/x").unwrap();
        assert_eq!((u.host.as_deref(), u.port), (Some("localhost"), None));
        let u = LoadUrl::parse("127.0.0.1:3000").unwrap();
        assert_eq!((u.port, u.path.as_str()), (Some(3000), "/"));
        let u = LoadUrl::parse("http://[::1]:9/a").unwrap();
        assert_eq!(u.with("[::1]:9".parse().unwrap()), "http://[::1]:9/a");
        let u = LoadUrl::parse("?q=1").unwrap();
        assert_eq!(
            u.with("127.0.0.1:5".parse().unwrap()),
            "http://127.0.0.1:5/?q=1"
        );
        for bad in [
            "https://x/",
            "ftp://x",
            "http://h:0/",
            "http://h:99999/",
            "http://::1/",
        ] {
            assert!(LoadUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(LoadUrl::parse("http://10.0.0.1:80/")
            .unwrap()
            .resolve(80, false)
            .is_err());
        assert!(LoadUrl::parse("/x").unwrap().resolve(80, false).is_ok());
    }

    #[test]
    fn tcp_tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1596 1 0 100 0 0 10 0\n\
           1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1597 1 0 100 0 0 10 0\n";
        let l = parse_tcp_table(v4, false);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(l[0].inode, 1596);
        let v6 = "  sl  local_address remote_address st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2000 1 0 100 0 0 10 0\n\
           1: 00000000000000000000000000000000:0BB9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0 100 0 0 10 0\n";
        let l = parse_tcp_table(v6, true);
        assert_eq!(l[0].addr, "[::1]:3000".parse().unwrap());
        assert_eq!(l[1].addr, "[::]:3001".parse().unwrap());
        assert_eq!(reach(l[1].addr), Some("[::1]:3001".parse().unwrap()));
        assert_eq!(reach("10.1.1.1:3".parse().unwrap()), None);
        assert_eq!(
            reach("0.0.0.0:3".parse().unwrap()),
            Some("127.0.0.1:3".parse().unwrap())
        );
    }

    #[test]
    fn finds_our_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = listeners(std::process::id(), 0);
        assert!(found.iter().any(|x| x.addr.port() == port), "{found:?}");
        assert!(!listeners(std::process::id(), port)
            .iter()
            .any(|x| x.addr.port() == port));
    }
}

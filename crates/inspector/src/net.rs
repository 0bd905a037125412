//! Addresses and the inspector's small HTTP side (`/json/list`).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{InspectorError, Result};

/// One debuggable target, as `/json/list` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub title: String,
    pub url: String,
    /// Absent when the inspector does not offer a WebSocket for the target.
    pub web_socket_debugger_url: Option<String>,
}

/// The parts of a `ws://host:port/path` URL we need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WsUrl {
    /// Without IPv6 brackets.
    pub host: String,
    pub port: u16,
}

pub(crate) fn parse_ws_url(url: &str) -> Result<WsUrl> {
    let bad = |reason: &str| InspectorError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let rest = if let Some(r) = url.strip_prefix("ws://") {
        r
    } else if url.starts_with("wss://") {
        return Err(bad(
            "TLS (wss://) is not supported; Node's inspector speaks plain ws://",
        ));
    } else {
        return Err(bad("it must start with ws://"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad("user info in the URL is not supported"));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| bad("cannot read host:port"))?;
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad("bad port"))?,
        None => 80,
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(WsUrl {
        host: host.to_string(),
        port,
    })
}

/// Splits `host[:port]` or `[v6][:port]`; the host comes back without brackets.
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        if after.is_empty() {
            return Some((host, None));
        }
        return Some((host, Some(after.strip_prefix(':')?)));
    }
    match authority.rsplit_once(':') {
        // A bare IPv6 address without brackets has several colons: not a host:port.
        Some((h, _)) if h.contains(':') => None,
        Some((h, p)) => Some((h, Some(p))),
        None => Some((authority, None)),
    }
}

/// Resolves `host:port`. Unless `allow_remote`, only loopback literals and `localhost` are
/// looked up at all, and every address must be loopback: an inspector is a remote shell.
pub(crate) fn resolve(host: &str, port: u16, allow_remote: bool) -> Result<Vec<SocketAddr>> {
    let literal = host.parse::<IpAddr>().ok();
    if !allow_remote {
        let named_local = host.eq_ignore_ascii_case("localhost");
        if !(named_local || literal.is_some_and(|ip| ip.is_loopback())) {
            return Err(InspectorError::RemoteRefused {
                host: host.to_string(),
            });
        }
    }
    let addrs: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => (host, port)
            .to_socket_addrs()
            .map_err(|e| InspectorError::Connect {
                addr: format!("{host}:{port}"),
                source: e,
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(InspectorError::Connect {
            addr: format!("{host}:{port}"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        });
    }
    if !allow_remote && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(InspectorError::RemoteRefused {
            host: host.to_string(),
        });
    }
    Ok(addrs)
}

/// Connects to the first address that answers; the error is the most telling failure.
pub(crate) fn connect_any(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(match last {
        Some((addr, e)) => connect_error(&addr.to_string(), e, timeout),
        None => InspectorError::Connect {
            addr: String::from("(no address)"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        },
    })
}

fn connect_error(addr: &str, e: std::io::Error, timeout: Duration) -> InspectorError {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => InspectorError::ConnectionRefused {
            addr: addr.to_string(),
        },
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => InspectorError::Timeout {
            what: format!("a connection to {addr}"),
            after: timeout,
        },
        _ => InspectorError::Connect {
            addr: addr.to_string(),
            source: e,
        },
    }
}

fn host_header(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Lists the inspector's targets with `GET /json/list` (5 s timeout).
pub fn discover(host: &str, port: u16) -> Result<Vec<Target>> {
    discover_timeout(host, port, Duration::from_secs(5))
}

/// [`discover`] with a caller-chosen timeout for the whole exchange.
pub fn discover_timeout(host: &str, port: u16, timeout: Duration) -> Result<Vec<Target>> {
    // The list itself is harmless, so any host may be asked; connecting is what is guarded.
    let addrs = resolve(host, port, true)?;
    let url = format!("http://{}/json/list", host_header(host, port));
    let body = http_get(
        &addrs,
        &host_header(host, port),
        "/json/list",
        timeout,
        &url,
    )?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| InspectorError::Http {
        url: url.clone(),
        detail: format!("the body is not JSON: {e}"),
    })?;
    let list = v.as_array().ok_or_else(|| InspectorError::Http {
        url: url.clone(),
        detail: "the body is not a JSON array".into(),
    })?;
    let text = |t: &Value, k: &str| t.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(list
        .iter()
        .map(|t| Target {
            id: text(t, "id"),
            title: text(t, "title"),
            url: text(t, "url"),
            web_socket_debugger_url: t
                .get("webSocketDebuggerUrl")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .collect())
}

const MAX_HTTP_RESPONSE: usize = 16 << 20;

/// A minimal `GET` for the inspector's JSON endpoints. Node answers with HTTP/1.0 and a
/// `Content-Length`, then closes; both ends are honoured, whichever comes first.
fn http_get(
    addrs: &[SocketAddr],
    host: &str,
    path: &str,
    timeout: Duration,
    url: &str,
) -> Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut stream = connect_any(addrs, timeout)?;
    let sock_err = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            InspectorError::Timeout {
                what: format!("an answer from {url}"),
                after: timeout,
            }
        } else {
            InspectorError::Socket {
                during: format!("reading {url}"),
                source: e,
            }
        }
    };
    stream.set_read_timeout(Some(timeout)).map_err(sock_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(sock_err)?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).map_err(sock_err)?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let mut head_end = None;
    let mut want = None;
    loop {
        if let (Some(h), Some(w)) = (head_end, want) {
            if buf.len() >= h + w {
                buf.truncate(h + w);
                break;
            }
        }
        if Instant::now() >= deadline {
            return Err(InspectorError::Timeout {
                what: format!("an answer from {url}"),
                after: timeout,
            });
        }
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(sock_err(e)),
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_HTTP_RESPONSE {
            return Err(InspectorError::Http {
                url: url.to_string(),
                detail: "the answer is too large".into(),
            });
        }
        if head_end.is_none() {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                head_end = Some(p + 4);
                want = content_length(&buf[..p]);
            }
        }
    }
    let Some(h) = head_end else {
        return Err(InspectorError::Http {
            url: url.to_string(),
            detail: "the connection closed before the response headers ended".into(),
        });
    };
    let status_line = buf[..h].split(|&b| b == b'\n').next().unwrap_or(&[]);
    let status_line = String::from_utf8_lossy(status_line).trim().to_string();
    let code = status_line.split_whitespace().nth(1).unwrap_or("");
    if !status_line.starts_with("HTTP/") || code != "200" {
        return Err(InspectorError::Http {
            url: url.to_string(),
            detail: format!("unexpected status line {status_line:?}"),
        });
    }
    if let Some(w) = want {
        if buf.len() < h + w {
            return Err(InspectorError::Http {
                url: url.to_string(),
                detail: format!(
                    "the connection closed after {} of {w} body bytes",
                    buf.len() - h
                ),
            });
        }
    }
    Ok(buf.split_off(h))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(head);
    text.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim().eq_ignore_ascii_case("content-length") {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ws_urls() {
        let u = parse_ws_url("ws://127.0.0.1:9229/abc").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 9229));
        let u = parse_ws_url("ws://[::1]:9229/abc").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9229));
        let u = parse_ws_url("ws://localhost/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("localhost", 80));
        assert!(matches!(
            parse_ws_url("wss://127.0.0.1:1/x"),
            Err(InspectorError::BadUrl { .. })
        ));
        assert!(matches!(
            parse_ws_url("http://127.0.0.1:1/x"),
            Err(InspectorError::BadUrl { .. })
        ));
        assert!(matches!(
            parse_ws_url("ws://127.0.0.1:99999/x"),
            Err(InspectorError::BadUrl { .. })
        ));
    }

    #[test]
    fn loopback_rule() {
        assert!(resolve("127.0.0.1", 1, false).is_ok());
        assert!(resolve("127.8.9.10", 1, false).is_ok());
        assert!(resolve("::1", 1, false).is_ok());
        for host in ["10.0.0.1", "192.168.1.1", "0.0.0.0", "example.com", "::"] {
            assert!(
                matches!(
                    resolve(host, 1, false),
                    Err(InspectorError::RemoteRefused { .. })
                ),
                "{host}"
            );
        }
        assert!(resolve("10.0.0.1", 1, true).is_ok());
    }

    #[test]
    fn reads_content_length() {
        assert_eq!(
            content_length(b"HTTP/1.0 200 OK\r\nContent-Type: x\r\ncontent-length: 629"),
            Some(629)
        );
    }
}

//! `http://host[:port]/path` targets and the loopback rule.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use crate::error::{LoadError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, never empty.
    pub path: String,
}

impl Target {
    /// The value of the `Host` header.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// What a URL says before defaults apply: the host and port may be missing (`/items`,
/// `http://localhost/x`), the path is never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// Without IPv6 brackets.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Splits an `http://` URL (the scheme may be left out) into its parts.
pub fn parse_parts(url: &str) -> Result<UrlParts> {
    let bad = |reason: &str| LoadError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
            return Err(bad("https is not supported; load a local plain-HTTP port"))
        }
        Some(_) => return Err(bad("only http:// URLs are supported")),
        // `localhost:3000/x` is what people type: read it as http.
        None => url,
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad(
            "the path has spaces or control characters; percent-encode them",
        ));
    }
    if authority.contains('@') {
        return Err(bad("user info in the URL is not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']').ok_or_else(|| bad("unclosed [ in the host"))?;
        let after = &v6[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("junk after the IPv6 address")),
        };
        (&v6[..end], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(bad("put an IPv6 address in brackets: http://[::1]:3000/"))
            }
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(0) => return Err(bad("port 0")),
            Ok(n) => Some(n),
            Err(_) => return Err(bad("bad port")),
        },
    };
    if host.is_empty() && port.is_some() {
        return Err(bad("no host"));
    }
    Ok(UrlParts {
        host: (!host.is_empty()).then(|| host.to_string()),
        port,
        path,
    })
}

pub(crate) fn parse(url: &str) -> Result<Target> {
    let parts = parse_parts(url)?;
    let host = parts.host.ok_or_else(|| LoadError::BadUrl {
        url: url.to_string(),
        reason: "no host".into(),
    })?;
    Ok(Target {
        host,
        port: parts.port.unwrap_or(80),
        path: parts.path,
    })
}

/// Resolves the target. Unless `allow_remote`, every address must be loopback: load is only
/// ever sent to this machine unless the caller says otherwise.
pub(crate) fn resolve(t: &Target, allow_remote: bool) -> Result<Vec<SocketAddr>> {
    resolve_host(&t.host, t.port, allow_remote)
}

/// The addresses of `host` with `port`; unless `allow_remote`, every one must be loopback.
pub fn resolve_host(host: &str, port: u16, allow_remote: bool) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|source| LoadError::Resolve {
                host: host.to_string(),
                source,
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(LoadError::Resolve {
            host: host.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        });
    }
    if !allow_remote {
        if let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(LoadError::RemoteRefused {
                host: host.to_string(),
                addr: a.ip().to_string(),
            });
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, port: u16, path: &str) -> Target {
        Target {
            host: host.into(),
            port,
            path: path.into(),
        }
    }

    #[test]
    fn parses() {
        assert_eq!(
            parse("http://127.0.0.1:3000/a?b=1#f").unwrap(),
            t("127.0.0.1", 3000, "/a?b=1")
        );
        assert_eq!(parse("http://localhost").unwrap(), t("localhost", 80, "/"));
        assert_eq!(parse("localhost:8080").unwrap(), t("localhost", 8080, "/"));
        assert_eq!(parse("http://[::1]:9/x").unwrap(), t("::1", 9, "/x"));
        assert_eq!(parse("http://h:1?q").unwrap(), t("h", 1, "/?q"));
        for bad in [
            "https://x/",
            "ftp://x/",
            "http://:80/",
            "http://h:99999/",
            "http://::1/",
            "http://h/a b",
        ] {
            assert!(matches!(parse(bad), Err(LoadError::BadUrl { .. })), "{bad}");
        }
        assert_eq!(t("::1", 9, "/").authority(), "[::1]:9");
        assert_eq!(t("a", 80, "/").authority(), "a");
    }

    #[test]
    fn loopback_only_by_default() {
        assert!(resolve(&t("127.0.0.2", 1, "/"), false).is_ok());
        assert!(resolve(&t("::1", 1, "/"), false).is_ok());
        for host in ["10.0.0.1", "192.168.1.20", "8.8.8.8", "0.0.0.0"] {
            assert!(
                matches!(
                    resolve(&t(host, 1, "/"), false),
                    Err(LoadError::RemoteRefused { .. })
                ),
                "{host}"
            );
            assert!(resolve(&t(host, 1, "/"), true).is_ok());
        }
    }
}

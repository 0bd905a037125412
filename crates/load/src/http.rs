//! Just enough HTTP/1.1 for a load driver: one prebuilt request, responses framed by
//! `Content-Length`, chunked encoding or the connection's end, keep-alive.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::error::{LoadError, Result};

const MAX_HEAD: usize = 64 * 1024;
const MAX_LINE: usize = 8 * 1024;

/// Why one request failed; `kind` labels it in the statistics.
#[derive(Debug)]
pub(crate) struct Failure {
    pub kind: &'static str,
    pub detail: String,
    /// Nothing of a response arrived on a reused connection: the server had most likely
    /// closed it while idle, so the request may be sent again on a fresh one.
    pub stale: bool,
}

impl Failure {
    fn io(e: &io::Error, stale: bool) -> Failure {
        let kind = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timeout",
            io::ErrorKind::ConnectionRefused => "connection refused",
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => "connection reset",
            io::ErrorKind::BrokenPipe => "connection closed",
            io::ErrorKind::UnexpectedEof => "connection closed",
            _ => "I/O error",
        };
        Failure {
            kind,
            detail: e.to_string(),
            stale: stale && kind != "timeout",
        }
    }

    fn malformed(detail: impl Into<String>) -> Failure {
        Failure {
            kind: "malformed response",
            detail: detail.into(),
            stale: false,
        }
    }
}

/// What we learned from one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    /// Bytes received for it, head included.
    pub bytes: u64,
    /// The server will not take another request on this connection.
    pub close: bool,
}

pub(crate) fn connect(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    Ok(s)
}

/// Connects to the first address that takes the connection; the error names them all.
pub(crate) fn connect_first(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr)> {
    let mut failures = Vec::new();
    for a in addrs {
        match connect(a, timeout) {
            Ok(s) => return Ok((s, *a)),
            Err(e) => failures.push((*a, e)),
        }
    }
    let names = failures
        .iter()
        .map(|(a, _)| a.to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    Err(match failures.pop() {
        Some((_, e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            LoadError::ConnectionRefused { addr: names }
        }
        Some((_, e))
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            LoadError::ConnectTimeout { addr: names }
        }
        Some((_, source)) => LoadError::Connect {
            addr: names,
            source,
        },
        None => LoadError::BadSpec("no address to connect to".into()),
    })
}

/// One kept-alive connection with its read buffer.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    /// At least one response came on it, so the server may have timed it out since.
    pub reused: bool,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            start: 0,
            reused: false,
        }
    }

    /// Sends `request` and reads its response.
    pub fn exchange(&mut self, request: &[u8], head: bool) -> Result<Response, Failure> {
        let stale = self.reused;
        self.stream
            .write_all(request)
            .map_err(|e| Failure::io(&e, stale))?;
        let r = self.read_response(head, stale)?;
        self.reused = true;
        Ok(r)
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 32 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + 16 * 1024, 0);
        loop {
            match self.stream.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        }
    }

    fn read_response(&mut self, head_request: bool, stale: bool) -> Result<Response, Failure> {
        let mut bytes = 0u64;
        loop {
            let head_len = self.read_head(stale && bytes == 0)?;
            bytes += head_len as u64;
            let head = Head::parse(&self.pending()[..head_len])?;
            self.start += head_len;
            // Interim answers (100 Continue, 103 Early Hints) precede the real one.
            if (100..200).contains(&head.status) && head.status != 101 {
                continue;
            }
            let no_body =
                head_request || head.status == 204 || head.status == 304 || head.status == 101;
            let mut close = head.close;
            if !no_body {
                if head.chunked {
                    bytes += self.skip_chunked()?;
                } else if let Some(n) = head.content_length {
                    self.skip_exact(n)?;
                    bytes += n;
                } else {
                    // No framing: the body runs to the end of the connection.
                    bytes += self.skip_to_eof()?;
                    close = true;
                }
            }
            return Ok(Response {
                status: head.status,
                bytes,
                close,
            });
        }
    }

    /// Reads until the buffer holds a whole head; returns its length.
    fn read_head(&mut self, stale: bool) -> Result<usize, Failure> {
        let mut scanned = 0usize;
        loop {
            let p = self.pending();
            if let Some(i) = find(&p[scanned.saturating_sub(3)..], b"\r\n\r\n") {
                return Ok(scanned.saturating_sub(3) + i + 4);
            }
            scanned = p.len();
            if scanned > MAX_HEAD {
                return Err(Failure::malformed("response head over 64 KiB"));
            }
            let nothing_yet = stale && scanned == 0;
            match self.fill() {
                Ok(0) => {
                    return Err(Failure {
                        kind: "connection closed",
                        detail: "the server closed the connection before answering".into(),
                        stale: nothing_yet,
                    })
                }
                Ok(_) => {}
                Err(e) => return Err(Failure::io(&e, nothing_yet)),
            }
        }
    }

    fn skip_exact(&mut self, mut n: u64) -> Result<(), Failure> {
        loop {
            let have = self.pending().len() as u64;
            let take = have.min(n);
            self.start += take as usize;
            n -= take;
            if n == 0 {
                return Ok(());
            }
            match self.fill() {
                Ok(0) => {
                    return Err(Failure {
                        kind: "connection closed",
                        detail: format!("the connection closed {n} bytes before the body's end"),
                        stale: false,
                    })
                }
                Ok(_) => {}
                Err(e) => return Err(Failure::io(&e, false)),
            }
        }
    }

    fn skip_to_eof(&mut self) -> Result<u64, Failure> {
        let mut n = self.pending().len() as u64;
        self.start = self.buf.len();
        loop {
            match self.fill() {
                Ok(0) => return Ok(n),
                Ok(k) => {
                    n += k as u64;
                    self.start = self.buf.len();
                }
                Err(e) => return Err(Failure::io(&e, false)),
            }
        }
    }

    /// Reads one CRLF-terminated line; returns its length including the line end.
    fn line(&mut self) -> Result<(Vec<u8>, u64), Failure> {
        loop {
            if let Some(i) = self.pending().iter().position(|&b| b == b'\n') {
                let raw = &self.pending()[..i];
                let text = raw.strip_suffix(b"\r").unwrap_or(raw).to_vec();
                self.start += i + 1;
                return Ok((text, (i + 1) as u64));
            }
            if self.pending().len() > MAX_LINE {
                return Err(Failure::malformed("chunk header line over 8 KiB"));
            }
            match self.fill() {
                Ok(0) => {
                    return Err(Failure {
                        kind: "connection closed",
                        detail: "the connection closed inside a chunked body".into(),
                        stale: false,
                    })
                }
                Ok(_) => {}
                Err(e) => return Err(Failure::io(&e, false)),
            }
        }
    }

    fn skip_chunked(&mut self) -> Result<u64, Failure> {
        let mut bytes = 0;
        loop {
            let (line, n) = self.line()?;
            bytes += n;
            let text = String::from_utf8_lossy(&line);
            let size_text = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| Failure::malformed(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let (line, n) = self.line()?;
                    bytes += n;
                    if line.is_empty() {
                        return Ok(bytes);
                    }
                }
            }
            self.skip_exact(size)?;
            bytes += size;
            let (end, n) = self.line()?;
            bytes += n;
            if !end.is_empty() {
                return Err(Failure::malformed("no CRLF after a chunk"));
            }
        }
    }
}

#[derive(Debug)]
struct Head {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
}

impl Head {
    fn parse(raw: &[u8]) -> Result<Head, Failure> {
        let text = String::from_utf8_lossy(raw);
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status = parts
            .next()
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (100..1000).contains(s));
        let (Some(status), true) = (status, version.starts_with("HTTP/1.")) else {
            return Err(Failure::malformed(format!(
                "bad status line {status_line:?}"
            )));
        };
        // HTTP/1.0 closes after each response unless it says otherwise.
        let mut close = version == "HTTP/1.0";
        let mut content_length = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("content-length") {
                let n = value
                    .parse::<u64>()
                    .map_err(|_| Failure::malformed(format!("bad Content-Length {value:?}")))?;
                content_length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case("keep-alive") {
                        close = false;
                    }
                }
            }
        }
        Ok(Head {
            status,
            content_length,
            chunked,
            close,
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves `reply` bytes to the first connection, after reading one request head.
    fn serve(reply: &'static [u8]) -> Conn {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(reply);
        });
        Conn::new(connect(&addr, Duration::from_secs(5)).unwrap())
    }

    #[test]
    fn content_length_and_keep_alive() {
        let mut c = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let r = c.exchange(b"GET / HTTP/1.1\r\n\r\n", false).unwrap();
        assert_eq!(
            r,
            Response {
                status: 200,
                bytes: 43,
                close: false
            }
        );
    }

    #[test]
    fn chunked_with_interim_and_trailers() {
        let reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
        let mut c = serve(reply);
        let r = c.exchange(b"GET / HTTP/1.1\r\n\r\n", false).unwrap();
        assert_eq!(r.status, 500);
        assert_eq!(r.bytes, reply.len() as u64);
        assert!(!r.close);
    }

    #[test]
    fn unframed_body_runs_to_close() {
        let mut c = serve(b"HTTP/1.0 200 OK\r\n\r\nall of it");
        let r = c.exchange(b"GET / HTTP/1.0\r\n\r\n", false).unwrap();
        assert_eq!((r.status, r.close), (200, true));
    }

    #[test]
    fn truncated_body_is_a_failure() {
        let mut c = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
        let f = c.exchange(b"GET / HTTP/1.1\r\n\r\n", false).unwrap_err();
        assert_eq!(f.kind, "connection closed");
        assert!(!f.stale);
    }

    #[test]
    fn garbage_is_malformed() {
        let mut c = serve(b"SSH-2.0-OpenSSH\r\n\r\n");
        let f = c.exchange(b"GET / HTTP/1.1\r\n\r\n", false).unwrap_err();
        assert_eq!(f.kind, "malformed response");
    }
}

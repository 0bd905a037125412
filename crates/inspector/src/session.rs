//! One CDP session over a WebSocket: requests, responses, and the events in between.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use crate::error::{InspectorError, Result};
use crate::net;

/// How to connect to an inspector.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Connect to a non-loopback host. Off by default: whoever reaches the inspector can run
    /// any code as the target process.
    pub allow_remote: bool,
    pub connect_timeout: Duration,
    /// How long the inspector may stay silent while we wait for an answer. Generating a
    /// snapshot sends progress every 10,000 nodes, so silence this long means the process
    /// hangs (or is stopped); a process that dies closes the socket and is noticed at once.
    pub idle_timeout: Duration,
    /// Largest message accepted. Snapshot chunks are ~100 KiB, but a sampling profile or an
    /// evaluated value can be far larger.
    pub max_message_bytes: usize,
    /// Events kept while nobody takes them; the oldest are dropped beyond this. Tracking
    /// heap objects sends two events every 50 ms for as long as it runs.
    pub max_queued_events: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            allow_remote: false,
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_message_bytes: 1 << 30,
            max_queued_events: 10_000,
        }
    }
}

/// A CDP event (`{"method":…,"params":…}`) that arrived while we waited for something else.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
}

/// `process.memoryUsage()` of the target, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryUsage {
    pub rss: u64,
    pub heap_total: u64,
    pub heap_used: u64,
    pub external: u64,
    pub array_buffers: u64,
}

/// Receives events as they arrive (see [`Session::set_event_handler`]).
pub type EventHandler = Box<dyn FnMut(&Event) + Send>;

/// A connected inspector session. Calls are synchronous: [`Session::call`] sends one request
/// and reads until its response, routing any events that come first.
pub struct Session {
    ws: WebSocket<TcpStream>,
    url: String,
    next_id: u64,
    idle_timeout: Duration,
    events: VecDeque<Event>,
    max_queued_events: usize,
    dropped_events: u64,
    handler: Option<EventHandler>,
}

/// Cuts a session's connection (see [`Session::abort_handle`]).
pub struct AbortHandle(TcpStream);

impl AbortHandle {
    pub fn abort(&self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

/// What a reader hook did with an event: consumed it, or leave it to the normal routing.
pub(crate) enum Hook {
    Consumed,
    Pass,
}

impl Session {
    /// Connects to `ws://host:port/<id>` (as announced by Node or listed by `/json/list`).
    pub fn connect(ws_url: &str, opts: &ConnectOptions) -> Result<Session> {
        let parsed = net::parse_ws_url(ws_url)?;
        let addrs = net::resolve(&parsed.host, parsed.port, opts.allow_remote)?;
        let stream = net::connect_any(&addrs, opts.connect_timeout)?;
        let sock = |e: io::Error| InspectorError::Socket {
            during: format!("setting up the connection to {ws_url}"),
            source: e,
        };
        // CDP is request/response with small requests: Nagle would only add latency.
        stream.set_nodelay(true).map_err(sock)?;
        stream
            .set_read_timeout(Some(opts.connect_timeout))
            .map_err(sock)?;
        stream
            .set_write_timeout(Some(opts.connect_timeout))
            .map_err(sock)?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(opts.max_message_bytes))
            .max_frame_size(Some(opts.max_message_bytes))
            // Requests are tiny and each must go out at once.
            .write_buffer_size(0);
        let (ws, _response) = tungstenite::client::client_with_config(ws_url, stream, Some(config))
            .map_err(|e| match e {
                tungstenite::HandshakeError::Interrupted(_) => InspectorError::Timeout {
                    what: format!("the WebSocket handshake with {ws_url}"),
                    after: opts.connect_timeout,
                },
                tungstenite::HandshakeError::Failure(e) => match e {
                    tungstenite::Error::Http(resp) => InspectorError::Http {
                        url: ws_url.to_string(),
                        detail: format!(
                            "the WebSocket upgrade was answered with HTTP {}; is the target id still current?",
                            resp.status()
                        ),
                    },
                    other => ws_error(other, &format!("the WebSocket handshake with {ws_url}")),
                },
            })?;
        let timeout = Some(opts.idle_timeout);
        ws.get_ref().set_read_timeout(timeout).map_err(sock)?;
        ws.get_ref().set_write_timeout(timeout).map_err(sock)?;
        Ok(Session {
            ws,
            url: ws_url.to_string(),
            next_id: 1,
            idle_timeout: opts.idle_timeout,
            events: VecDeque::new(),
            max_queued_events: opts.max_queued_events.max(1),
            dropped_events: 0,
            handler: None,
        })
    }

    /// A handle that cuts this session's connection from another thread: a call blocked
    /// reading (a snapshot that streams, a GC) then fails at once with
    /// [`InspectorError::Closed`].
    pub fn abort_handle(&self) -> Result<AbortHandle> {
        self.ws
            .get_ref()
            .try_clone()
            .map(AbortHandle)
            .map_err(|source| InspectorError::Socket {
                during: format!("duplicating the connection to {}", self.url),
                source,
            })
    }

    /// The URL this session is connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Changes how long the inspector may stay silent before a call fails with a timeout.
    pub fn set_idle_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.set_socket_timeout(timeout)?;
        self.idle_timeout = timeout;
        Ok(())
    }

    fn set_socket_timeout(&mut self, timeout: Duration) -> Result<()> {
        // A zero timeout means "block forever" to the OS: never ask for that.
        let t = Some(timeout.max(Duration::from_millis(1)));
        let sock = |e: io::Error| InspectorError::Socket {
            during: "setting the socket timeout".into(),
            source: e,
        };
        self.ws.get_ref().set_read_timeout(t).map_err(sock)?;
        self.ws.get_ref().set_write_timeout(t).map_err(sock)
    }

    /// Sends events to `handler` as they arrive instead of queueing them; `None` goes back to
    /// queueing.
    pub fn set_event_handler(&mut self, handler: Option<EventHandler>) {
        self.handler = handler;
    }

    /// Takes the queued events, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    /// How many events were dropped because the queue was full.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Reads and routes events for `duration` (for example `heapStatsUpdate` while tracking);
    /// returns how many arrived.
    pub fn pump_events(&mut self, duration: Duration) -> Result<usize> {
        let end = Instant::now() + duration;
        let mut n = 0;
        let result = loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Ok(n);
            }
            if let Err(e) = self.set_socket_timeout(left) {
                break Err(e);
            }
            match self.read_json("events") {
                Ok(msg) => {
                    if let Some(ev) = as_event(msg) {
                        n += 1;
                        self.route(ev);
                    }
                }
                Err(InspectorError::Timeout { .. }) => break Ok(n),
                Err(e) => break Err(e),
            }
        };
        let idle = self.idle_timeout;
        self.set_socket_timeout(idle)?;
        result
    }

    /// Sends `{"id":N,"method":…,"params":…}` and returns the response's `result`. A CDP
    /// `error` response becomes [`InspectorError::Cdp`].
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.call_hooked(method, params, &mut |_, _| Hook::Pass)
    }

    /// [`Session::call`] with a hook that sees each event before it is routed, so a
    /// streaming caller can consume its own events (snapshot chunks) without queueing them.
    pub(crate) fn call_hooked(
        &mut self,
        method: &str,
        params: Value,
        hook: &mut dyn FnMut(&str, &Value) -> Hook,
    ) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({ "id": id, "method": method, "params": params });
        self.ws
            .send(Message::text(request.to_string()))
            .map_err(|e| ws_error(e, &format!("sending {method}")))?;
        let during = format!("the answer to {method}");
        loop {
            let mut msg = self.read_json(&during)?;
            match msg.get("id").and_then(Value::as_u64) {
                Some(got) if got == id => return response_result(method, msg),
                // A late answer to an earlier call that timed out: nobody waits for it.
                Some(_) => continue,
                None => {}
            }
            let params = msg
                .get_mut("params")
                .map(Value::take)
                .unwrap_or(Value::Null);
            let Some(name) = msg.get("method").and_then(Value::as_str) else {
                continue;
            };
            match hook(name, &params) {
                Hook::Consumed => {}
                Hook::Pass => {
                    let method = name.to_string();
                    self.route(Event { method, params });
                }
            }
        }
    }

    fn route(&mut self, ev: Event) {
        if let Some(h) = self.handler.as_mut() {
            h(&ev);
            return;
        }
        if self.events.len() >= self.max_queued_events {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(ev);
    }

    /// Reads the next text message as JSON, skipping control frames.
    fn read_json(&mut self, during: &str) -> Result<Value> {
        loop {
            let msg = self.ws.read().map_err(|e| match e {
                tungstenite::Error::Io(ref io)
                    if matches!(
                        io.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    InspectorError::Timeout {
                        what: during.to_string(),
                        after: self.idle_timeout,
                    }
                }
                other => ws_error(other, during),
            })?;
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(_) => {
                    return Err(InspectorError::Closed {
                        during: during.to_string(),
                    })
                }
                // Node sends only text; pings are answered by tungstenite itself.
                _ => continue,
            };
            return serde_json::from_str(text.as_str()).map_err(|e| InspectorError::Protocol {
                method: during.to_string(),
                detail: format!("a message is not JSON: {e}"),
            });
        }
    }

    /// Closes the WebSocket politely. Dropping the session closes the TCP connection too.
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }

    /// `Runtime.evaluate` with `returnByValue`: the expression's value as JSON (`null` for
    /// `undefined`). An exception in the expression is [`InspectorError::Evaluation`].
    pub fn evaluate(&mut self, expression: &str) -> Result<Value> {
        self.evaluate_with(expression, false)
    }

    /// [`Session::evaluate`] of an expression whose value is a promise: the reply comes
    /// once it settles (a rejection is [`InspectorError::Evaluation`] with its stack), or
    /// the call times out after the idle timeout.
    pub fn evaluate_awaited(&mut self, expression: &str) -> Result<Value> {
        self.evaluate_with(expression, true)
    }

    fn evaluate_with(&mut self, expression: &str, await_promise: bool) -> Result<Value> {
        let mut r = self.call(
            "Runtime.evaluate",
            json!({
                "expression": expression,
                "returnByValue": true,
                "awaitPromise": await_promise,
            }),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            let text = ex
                .pointer("/exception/description")
                .and_then(Value::as_str)
                .or_else(|| ex.get("text").and_then(Value::as_str))
                .unwrap_or("unknown exception");
            return Err(InspectorError::Evaluation(text.to_string()));
        }
        Ok(r.pointer_mut("/result/value")
            .map(Value::take)
            .unwrap_or(Value::Null))
    }

    /// `process.memoryUsage()` of the target.
    pub fn memory_usage(&mut self) -> Result<MemoryUsage> {
        const METHOD: &str = "Runtime.evaluate(process.memoryUsage())";
        let v = self.evaluate("JSON.stringify(process.memoryUsage())")?;
        let text = v.as_str().ok_or_else(|| InspectorError::Protocol {
            method: METHOD.into(),
            detail: format!("expected a string, got {v}"),
        })?;
        let m: Value = serde_json::from_str(text).map_err(|e| InspectorError::Protocol {
            method: METHOD.into(),
            detail: format!("not JSON: {e}"),
        })?;
        let field = |k: &str| {
            number(&m, k).ok_or_else(|| InspectorError::Protocol {
                method: METHOD.into(),
                detail: format!("no number {k:?} in {text}"),
            })
        };
        Ok(MemoryUsage {
            rss: field("rss")?,
            heap_total: field("heapTotal")?,
            heap_used: field("heapUsed")?,
            external: field("external")?,
            // Missing on very old Node versions; zero reads as "none".
            array_buffers: number(&m, "arrayBuffers").unwrap_or(0),
        })
    }

    /// `Runtime.getHeapUsage`: V8 heap `(used, total)` bytes, cheaper than `memory_usage`.
    pub fn heap_usage(&mut self) -> Result<(u64, u64)> {
        let r = self.call("Runtime.getHeapUsage", json!({}))?;
        match (number(&r, "usedSize"), number(&r, "totalSize")) {
            (Some(u), Some(t)) => Ok((u, t)),
            _ => Err(InspectorError::Protocol {
                method: "Runtime.getHeapUsage".into(),
                detail: format!("no usedSize/totalSize in {r}"),
            }),
        }
    }

    /// `HeapProfiler.enable`.
    pub fn enable_heap_profiler(&mut self) -> Result<()> {
        self.call("HeapProfiler.enable", json!({})).map(drop)
    }

    /// `HeapProfiler.collectGarbage`: a full, blocking GC in the target.
    pub fn collect_garbage(&mut self) -> Result<()> {
        self.call("HeapProfiler.collectGarbage", json!({}))
            .map(drop)
    }
}

/// Reads a byte count that V8 may send as an integer or a float.
fn number(v: &Value, key: &str) -> Option<u64> {
    let n = v.get(key)?;
    n.as_u64()
        .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

fn as_event(mut msg: Value) -> Option<Event> {
    if msg.get("id").is_some() {
        return None;
    }
    let method = msg.get("method")?.as_str()?.to_string();
    let params = msg
        .get_mut("params")
        .map(Value::take)
        .unwrap_or(Value::Null);
    Some(Event { method, params })
}

fn response_result(method: &str, mut msg: Value) -> Result<Value> {
    if let Some(err) = msg.get("error") {
        return Err(InspectorError::Cdp {
            method: method.to_string(),
            code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_string(),
        });
    }
    Ok(msg
        .get_mut("result")
        .map(Value::take)
        .unwrap_or(Value::Null))
}

pub(crate) fn ws_error(e: tungstenite::Error, during: &str) -> InspectorError {
    use tungstenite::error::ProtocolError;
    match e {
        tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            InspectorError::Closed {
                during: during.to_string(),
            }
        }
        tungstenite::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            InspectorError::Closed {
                during: during.to_string(),
            }
        }
        tungstenite::Error::Io(io) => InspectorError::Socket {
            during: during.to_string(),
            source: io,
        },
        other => InspectorError::Protocol {
            method: during.to_string(),
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdp_errors_are_typed() {
        let msg = json!({"id": 3, "error": {"code": -32000, "message": "Object is not available"}});
        match response_result("HeapProfiler.getObjectByHeapObjectId", msg) {
            Err(InspectorError::Cdp { code, message, .. }) => {
                assert_eq!(code, -32000);
                assert_eq!(message, "Object is not available");
            }
            other => panic!("{other:?}"),
        }
        let ok = response_result("X.y", json!({"id": 1, "result": {"a": 1}})).unwrap();
        assert_eq!(ok, json!({"a": 1}));
    }

    #[test]
    fn numbers_may_be_floats() {
        let v = json!({"a": 12, "b": 1.5e3, "c": -1});
        assert_eq!(number(&v, "a"), Some(12));
        assert_eq!(number(&v, "b"), Some(1500));
        assert_eq!(number(&v, "c"), None);
    }
}

// Catalog API that ships an access-log line per request to a remote log collector. The
// collector connection went quiet at some point (no error, it just stopped acknowledging),
// and since then the service's memory has been climbing with every request it answers.
// Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');
const { Writable } = require('stream');

// Ships log lines to the collector. send() stands in for a socket write whose
// acknowledgement never arrives, so _write never completes.
class CollectorSink extends Writable {
  constructor(endpoint) {
    super({ highWaterMark: 64 * 1024 });
    this.endpoint = endpoint;
    this.sent = 0;
    this.pendingAck = null;
  }

  _write(chunk, encoding, callback) {
    this.sent++;
    this.pendingAck = { bytes: chunk.length, callback }; // acked by the collector... eventually
  }
}

class AccessLogEntry {
  constructor(req, status, durationMs) {
    this.time = new Date().toISOString();
    this.method = req.method;
    this.url = req.url;
    this.status = status;
    this.durationMs = durationMs;
    this.userAgent = req.headers['user-agent'] || '-';
    this.remote = req.socket.remoteAddress;
  }

  toLine() {
    return `${JSON.stringify(this)}\n`;
  }
}

const accessLog = new CollectorSink('tcp://logs.internal:5170');

function handle(req, res) {
  const started = process.hrtime.bigint();
  const userId = Number(new URL(req.url, 'http://localhost').searchParams.get('user') ?? 0);
  const items = Array.from({ length: 3 }, (_, i) => ({ id: userId * 10 + i, name: `item ${i}` }));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, items }));
  const entry = new AccessLogEntry(req, 200, Number(process.hrtime.bigint() - started) / 1e6);
  // The leak: write() returns false once the sink is backed up, and nobody checks it.
  accessLog.write(Buffer.from(entry.toLine().padEnd(1024, ' ')));
}

function createServer() {
  return http.createServer(handle);
}

module.exports = { createServer, accessLog };

if (require.main === module) {
  const server = createServer();
  server.listen(Number(process.argv[2] ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

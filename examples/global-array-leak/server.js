// Search API with a "recent requests" debug page. Someone added request recording to help
// chase a bug and left it on; since then memory has grown with every request served, and
// the process gets restarted by the orchestrator every few days.
// Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');

class RequestRecord {
  constructor(req, userId) {
    this.at = Date.now();
    this.method = req.method;
    this.url = req.url;
    this.userId = userId;
    this.headers = { ...req.headers };
    this.remote = { address: req.socket.remoteAddress, port: req.socket.remotePort };
  }
}

// Shared with the debug page module, hence on `global`. Meant to hold "the last few".
global.recentRequests = global.recentRequests || [];

function search(userId, n) {
  return Array.from({ length: 5 }, (_, i) => ({ id: `doc-${(userId * 31 + n + i) % 1000}`, score: 1 / (i + 1) }));
}

function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const userId = Number(url.searchParams.get('user') ?? 0);
  global.recentRequests.push(new RequestRecord(req, userId)); // the leak: never trimmed
  const hits = search(userId, Number(url.searchParams.get('n') ?? 0));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, hits }));
}

function createServer() {
  return http.createServer(handle);
}

module.exports = { createServer };

if (require.main === module) {
  const server = createServer();
  server.listen(Number(process.argv[2] ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

// Upload-preview API that keeps a copy of every rendered response body so support can
// replay what a user saw. Resident memory (RSS) climbs by tens of MB per thousand requests
// while the JS heap itself looks fairly small. Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');

const PAGE_BYTES = 16 * 1024;

class ReplayEntry {
  constructor(userId, url, body) {
    this.userId = userId;
    this.url = url;
    this.recordedAt = Date.now();
    this.body = body;
  }
}

// "Recent" responses for the replay tool. Nothing ever trims it.
const replayLog = [];

function renderPreview(userId, n) {
  // A fixed-size preview page (think: a thumbnail strip), filled in place.
  const page = Buffer.alloc(PAGE_BYTES);
  page.write(`preview for user ${userId}, request ${n}\n`, 0, 'utf8');
  for (let off = 64; off < page.length; off += 64) page.writeUInt32BE((off * 2654435761 + n) >>> 0, off);
  return page;
}

function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const userId = Number(url.searchParams.get('user') ?? 0);
  const page = renderPreview(userId, Number(url.searchParams.get('n') ?? 0));
  replayLog.push(new ReplayEntry(userId, req.url, page)); // the leak
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, bytes: page.length, kept: replayLog.length }));
}

function createServer() {
  return http.createServer(handle);
}

module.exports = { createServer, replayLog };

if (require.main === module) {
  const server = createServer();
  server.listen(Number(process.argv[2] ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

// A small HTTP service with a classic leak: every request stores a session object in a
// module-level Map that nothing ever evicts. Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');
const { randomUUID } = require('crypto');

class Session {
  constructor(userId, path) {
    this.id = randomUUID();
    this.userId = userId;
    this.path = path;
    this.createdAt = Date.now();
    this.history = [path];
    this.profile = { name: `user-${userId}`, roles: ['reader'], prefs: { theme: 'dark' } };
  }
}

// The leak: sessions are added on every request and never removed.
const sessionCache = new Map();

function handle(req, res) {
  const userId = Number(new URL(req.url, 'http://x').searchParams.get('user') ?? 0);
  const session = new Session(userId, req.url);
  sessionCache.set(session.id, session);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, sessions: sessionCache.size }));
}

function createServer() {
  return http.createServer(handle);
}

module.exports = { createServer, sessionCache };

if (require.main === module) {
  const port = Number(process.argv[2] ?? 3000);
  const server = createServer();
  server.listen(port, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

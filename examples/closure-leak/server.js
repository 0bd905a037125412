// Report-rendering service. Every request refreshes the "latest render state" that the
// status page shows, and the old state should be garbage once it is replaced — yet the heap
// grows by roughly one rendered report per request and never comes back down.
// Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');

class RenderState {
  constructor(userId, seq, body) {
    this.userId = userId;
    this.seq = seq;
    this.renderedAt = Date.now();
    this.body = body; // the rendered report, a few KiB
  }

  describe() {
    return `report #${this.seq} for user ${this.userId} (${this.body.length} chars)`;
  }
}

function renderReport(userId, seq) {
  const rows = [];
  for (let i = 0; i < 40; i++) {
    rows.push(`<tr><td>${seq}</td><td>user-${userId}</td><td>item-${i}</td><td>${(i * 1.37).toFixed(2)}</td></tr>`);
  }
  return `<table>${rows.join('')}</table>`;
}

// The state the status page shows; replaced on every request.
let lastState = null;

function refreshState(userId, seq) {
  const previous = lastState;
  // Only used for debugging once, but it shares a scope with the closure below.
  const logTransition = () => {
    if (previous) console.debug(`replacing ${previous.describe()}`);
  };
  const state = new RenderState(userId, seq, renderReport(userId, seq));
  state.summary = function summary() {
    return { seq: state.seq, user: state.userId, size: state.body.length };
  };
  lastState = state;
  if (process.env.DEBUG_RENDER) logTransition();
  return state;
}

let seq = 0;

function handle(req, res) {
  const userId = Number(new URL(req.url, 'http://localhost').searchParams.get('user') ?? 0);
  const state = refreshState(userId, ++seq);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, ...state.summary() }));
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

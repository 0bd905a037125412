// Dashboard API that rebuilds a large in-memory report every few hundred milliseconds,
// serves it for a moment, then keeps only its totals. The heap jumps by tens of MB at each
// rebuild, and people call it a leak from the graph, but every jump comes back down.
// Start it alone with `node server.js [port] [period-ms]`.
'use strict';
const http = require('http');

let latest = { rows: 0, builtAt: 0 };

const HOLD_MS = 250;

function buildReport() {
  // The whole table is materialised and held while it is "fresh": a transient spike.
  const rows = new Array(200000);
  for (let i = 0; i < rows.length; i++) rows[i] = { id: i, label: `row ${i}`, value: i * 1.5 };
  let total = 0;
  for (const r of rows) total += r.value;
  latest = { rows: rows.length, total, builtAt: Date.now(), table: rows };
  setTimeout(() => {
    latest = { rows: latest.rows, total: latest.total, builtAt: latest.builtAt };
  }, HOLD_MS);
}

function handle(req, res) {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, rows: latest.rows, total: latest.total }));
}

function createServer() {
  const server = http.createServer(handle);
  const timer = setInterval(buildReport, Number(process.env.REPORT_PERIOD_MS ?? 600));
  server.on('close', () => clearInterval(timer));
  return server;
}

module.exports = { createServer, buildReport };

if (require.main === module) {
  if (process.argv[3]) process.env.REPORT_PERIOD_MS = process.argv[3];
  const server = createServer();
  server.listen(Number(process.argv[2] ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

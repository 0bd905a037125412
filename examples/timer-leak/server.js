// Price-watch API: each request registers a watch so the user gets notified when a price
// changes. Memory grows steadily with traffic even though each watch should only live as
// long as the client cares about it, and the process never shrinks back.
// Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');
const { randomUUID } = require('crypto');

const POLL_INTERVAL_MS = 60_000;

class PriceWatch {
  constructor(userId, sku) {
    this.id = randomUUID();
    this.userId = userId;
    this.sku = sku;
    this.lastPrice = null;
    this.createdAt = Date.now();
    this.notifications = [];
    this.timer = null;
  }

  start() {
    // The leak: the interval is never cleared, so the watch lives forever.
    this.timer = setInterval(() => {
      const price = lookupPrice(this.sku);
      if (this.lastPrice !== null && price !== this.lastPrice) {
        this.notifications.push({ sku: this.sku, from: this.lastPrice, to: price, at: Date.now() });
      }
      this.lastPrice = price;
    }, POLL_INTERVAL_MS);
    return this;
  }

  stop() {
    clearInterval(this.timer);
  }
}

function lookupPrice(sku) {
  return 100 + (sku.length * 7 + Math.floor(Date.now() / 3_600_000)) % 50;
}

let activeWatches = 0;

function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const userId = Number(url.searchParams.get('user') ?? 0);
  const sku = `SKU-${userId}-${url.searchParams.get('n') ?? 0}`;
  const watch = new PriceWatch(userId, sku).start();
  activeWatches++;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ watchId: watch.id, sku, price: lookupPrice(sku), activeWatches }));
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

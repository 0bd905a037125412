// Quote API that aborts in-flight work when the process is shutting down. Every lookup is
// raced against the shutdown signal so a deploy never waits on slow work. The handlers
// finish and respond normally, yet memory grows with every request served and is never
// given back. Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');
const { randomUUID } = require('crypto');

class ShutdownSignal {
  constructor() {
    this.reason = null;
    // Settles only when the process is told to stop, which in practice is never.
    this.promise = new Promise((resolve) => {
      this.trigger = (reason) => {
        this.reason = reason;
        resolve({ aborted: true, reason });
      };
    });
  }
}

const shutdown = new ShutdownSignal();
process.once('SIGTERM', () => {
  shutdown.trigger('SIGTERM');
  // Let in-flight requests answer 503, then go.
  setTimeout(() => process.exit(0), 100).unref();
});

class QuoteRequest {
  constructor(userId, url) {
    this.id = randomUUID();
    this.userId = userId;
    this.url = url;
    this.receivedAt = Date.now();
    this.lines = Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${userId}-${i}`, qty: 1 + (i % 3) }));
  }
}

class PricedQuote {
  constructor(request, total) {
    this.request = request;
    this.total = total;
    this.currency = 'EUR';
    this.pricedAt = Date.now();
  }

  toJSON() {
    return { id: this.request.id, total: this.total, currency: this.currency };
  }
}

async function priceQuote(quote) {
  await new Promise((resolve) => setImmediate(resolve)); // stands in for a database call
  const total = quote.lines.reduce((sum, line) => sum + line.qty * 9.5, 0);
  return new PricedQuote(quote, total);
}

async function handle(req, res) {
  const userId = Number(new URL(req.url, 'http://localhost').searchParams.get('user') ?? 0);
  const quote = new QuoteRequest(userId, req.url);
  // The race settles as soon as the quote is priced, and the handler moves on.
  const result = await Promise.race([shutdown.promise, priceQuote(quote)]);
  res.setHeader('content-type', 'application/json');
  if (result.aborted) {
    res.statusCode = 503;
    res.end(JSON.stringify({ error: 'shutting down' }));
    return;
  }
  res.end(JSON.stringify({ ok: true, quote: result }));
}

function createServer() {
  return http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: err.message }));
    });
  });
}

module.exports = { createServer, shutdown };

if (require.main === module) {
  const server = createServer();
  server.listen(Number(process.argv[2] ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

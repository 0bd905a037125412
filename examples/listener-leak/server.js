// Inventory API with a live-reloadable config. Memory keeps climbing under load: each request
// subscribes to the shared config bus so it can react if pricing settings change mid-request,
// but nothing ever unsubscribes. We raised the listener limit because Node kept printing
// "MaxListenersExceededWarning". Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');
const { EventEmitter } = require('events');
const { randomUUID } = require('crypto');

class ConfigBus extends EventEmitter {
  constructor() {
    super();
    this.version = 1;
    this.settings = { currency: 'EUR', taxRate: 0.2, discounts: true };
  }

  update(patch) {
    this.settings = { ...this.settings, ...patch };
    this.version++;
    this.emit('config-change', this.settings, this.version);
  }
}

// One bus for the whole process; lots of modules listen to it.
const configBus = new ConfigBus();
configBus.setMaxListeners(0); // "too many listeners" warnings were noisy in production

class RequestContext {
  constructor(req, userId) {
    this.requestId = randomUUID();
    this.userId = userId;
    this.method = req.method;
    this.url = req.url;
    this.userAgent = req.headers['user-agent'] || '';
    this.startedAt = Date.now();
    this.settings = configBus.settings;
    this.trace = [`${req.method} ${req.url}`];
  }
}

let requestCount = 0;

function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const ctx = new RequestContext(req, Number(url.searchParams.get('user') ?? 0));
  requestCount++;

  // The leak: a new subscription per request, never removed when the request ends.
  configBus.on('config-change', function onConfigChange(settings, version) {
    ctx.settings = settings;
    ctx.trace.push(`config v${version}`);
  });
  if (requestCount % 2 === 0) {
    configBus.on('shutdown', () => ctx.trace.push('aborted by shutdown'));
  }

  const { currency, taxRate } = ctx.settings;
  const price = 10 + (ctx.userId % 7);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ requestId: ctx.requestId, price, total: price * (1 + taxRate), currency }));
}

function createServer() {
  return http.createServer(handle);
}

module.exports = { createServer, configBus };

if (require.main === module) {
  const server = createServer();
  server.listen(Number(process.argv[2] ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

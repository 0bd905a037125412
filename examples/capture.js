// Drives one example app with real HTTP load and writes a series of heap snapshots:
//
//   node examples/capture.js APP_DIR OUT_DIR [--requests N] [--snapshots K] [--warmup W]
//
// APP_DIR/server.js must export createServer() returning an http.Server that is not yet
// listening. The driver listens on 127.0.0.1 (a free port), sends W warm-up requests, then
// writes OUT_DIR/1.heapsnapshot, sends N more requests, writes OUT_DIR/2.heapsnapshot, and
// so on up to OUT_DIR/K.heapsnapshot. It prints the snapshot paths, one per line.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const v8 = require('v8');

const CONCURRENCY = 8;

function usage(message) {
  if (message) console.error(`capture: ${message}`);
  console.error(
    'usage: node capture.js APP_DIR OUT_DIR [--requests N] [--snapshots K] [--warmup W]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { requests: 1000, snapshots: 3, warmup: 300 };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--(requests|snapshots|warmup)(?:=(.*))?$/.exec(arg);
    if (m) {
      const raw = m[2] !== undefined ? m[2] : argv[++i];
      const value = Number(raw);
      if (raw === undefined || !Number.isInteger(value) || value < 0) {
        usage(`--${m[1]} needs a non-negative integer, got ${JSON.stringify(raw)}`);
      }
      opts[m[1]] = value;
    } else if (arg === '-h' || arg === '--help') {
      usage();
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 2) usage('expected APP_DIR and OUT_DIR');
  if (opts.snapshots < 1) usage('--snapshots must be at least 1');
  return { appDir: path.resolve(positional[0]), outDir: path.resolve(positional[1]), ...opts };
}

function fail(message) {
  console.error(`capture: ${message}`);
  process.exit(1);
}

class RequestError extends Error {}

function get(agent, port, i) {
  const reqPath = `/items?user=${i % 97}&n=${i}`;
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: reqPath, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new RequestError(`GET ${reqPath} answered ${res.statusCode}, expected 200`));
        } else {
          resolve();
        }
      });
      res.on('error', reject);
    });
    req.setTimeout(30000, () => req.destroy(new RequestError(`GET ${reqPath} timed out after 30 s`)));
    req.on('error', (err) =>
      reject(err instanceof RequestError ? err : new RequestError(`GET ${reqPath} failed: ${err.message}`)),
    );
  });
}

// Sends `count` requests numbered from `first`, CONCURRENCY at a time.
async function load(agent, port, first, count) {
  let next = first;
  const end = first + count;
  async function worker() {
    while (next < end) await get(agent, port, next++);
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
}

// A later tick, so nothing on this module's stack is retained while V8 walks the heap.
function snapshotLater(file) {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        resolve(v8.writeHeapSnapshot(file));
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const serverFile = path.join(opts.appDir, 'server.js');
  if (!fs.existsSync(serverFile)) fail(`${serverFile} does not exist`);
  const app = require(serverFile);
  if (typeof app.createServer !== 'function') fail(`${serverFile} does not export createServer()`);
  fs.mkdirSync(opts.outDir, { recursive: true });

  const server = app.createServer();
  if (!(server instanceof http.Server)) fail('createServer() did not return an http.Server');
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  // Each load phase gets its own keep-alive connections, closed before the snapshot: a
  // snapshot pauses the process for a while, and an idle connection the server times out
  // right after it would reset the next request sent on it.
  const phase = async (first, count) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    try {
      await load(agent, port, first, count);
    } finally {
      agent.destroy();
    }
  };

  let sent = 0;
  await phase(sent, opts.warmup);
  sent += opts.warmup;

  const written = [];
  for (let k = 1; k <= opts.snapshots; k++) {
    const file = path.join(opts.outDir, `${k}.heapsnapshot`);
    written.push(await snapshotLater(file));
    if (k < opts.snapshots) {
      await phase(sent, opts.requests);
      sent += opts.requests;
    }
  }

  if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  for (const file of written) console.log(file);
  // An app may keep timers or handles alive on purpose; the capture is done either way.
  process.exit(0);
}

main().catch((err) => {
  // Request failures are expected kinds of failure: one line. Anything else: the stack.
  if (err instanceof RequestError) fail(err.message);
  fail(err && err.stack ? err.stack : String(err));
});

// Runs the leaky service on a loopback port, sends it real HTTP requests, then writes a
// heap snapshot of the process: `node snapshot.js [OUT] [REQUESTS]`.
'use strict';
const http = require('http');
const path = require('path');
const v8 = require('v8');
const { createServer } = require('./server');

const out = path.resolve(process.argv[2] ?? path.join(__dirname, 'cache-leak.heapsnapshot'));
const requests = Number(process.argv[3] ?? 3000);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(port, i) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/items?user=${i % 97}`, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}

const server = createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  for (let i = 0; i < requests; i += 8) {
    await Promise.all(Array.from({ length: 8 }, (_, k) => get(port, i + k)));
  }
  agent.destroy();
  server.close();
  // A later tick, so nothing of this function is held by the stack when V8 walks it.
  setImmediate(() => {
    v8.writeHeapSnapshot(out);
    console.log(out);
  });
});

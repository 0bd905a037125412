// A small TypeScript HTTP service whose memory only goes up: see RecordCache in cache.ts.
// Build it (`npm run build`), then `node dist/server.js [port]`.
import * as http from 'http';
import { RecordCache } from './cache.js';

const cache = new RecordCache();
let seq = 0;

function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  seq += 1;
  const record = cache.remember(req.url ?? '/', seq);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, id: record.id, cached: cache.size }));
}

export function createServer(): http.Server {
  return http.createServer(handleRequest);
}

const port = Number(process.argv[2] ?? 3000);
const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  console.log(`listening on http://127.0.0.1:${bound}/`);
});

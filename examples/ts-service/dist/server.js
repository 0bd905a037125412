"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.createServer = createServer;
// A small TypeScript HTTP service whose memory only goes up: see RecordCache in cache.ts.
// Build it (`npm run build`), then `node dist/server.js [port]`.
const http = require("http");
const cache_js_1 = require("./cache.js");
const cache = new cache_js_1.RecordCache();
let seq = 0;
function handleRequest(req, res) {
    seq += 1;
    const record = cache.remember(req.url ?? '/', seq);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, id: record.id, cached: cache.size }));
}
function createServer() {
    return http.createServer(handleRequest);
}
const port = Number(process.argv[2] ?? 3000);
const server = createServer();
server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    console.log(`listening on http://127.0.0.1:${bound}/`);
});
//# sourceMappingURL=server.js.map
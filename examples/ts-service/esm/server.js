"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.createServer = createServer;
// A small TypeScript HTTP service whose memory only goes up: see RecordCache in cache.ts.
// Build it (`npm run build`), then `node dist/server.js [port]`.
const http = __importStar(require("http"));
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
"use strict";
// A record cache with the classic leak: every request adds an entry and nothing evicts one.
Object.defineProperty(exports, "__esModule", { value: true });
exports.RecordCache = void 0;
class RecordCache {
    records = new Map();
    remember(path, seq) {
        const record = {
            id: `${path}#${seq}`,
            path,
            createdAt: Date.now(),
            tags: ['fresh', `n${seq % 7}`],
            payload: { name: `customer-${seq}`, score: seq * 3 },
        };
        this.records.set(record.id, record);
        return record;
    }
    get size() {
        return this.records.size;
    }
}
exports.RecordCache = RecordCache;
//# sourceMappingURL=cache.js.map
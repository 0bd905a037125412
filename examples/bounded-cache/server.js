// Feed API with an in-memory LRU cache of rendered feed pages. Right after a deploy the
// heap grows quickly and people suspect a leak, but once the cache is full its size stays
// put: old pages are evicted as new ones come in. Start it alone with `node server.js [port]`.
'use strict';
const http = require('http');

class LruCache {
  constructor(maxEntries) {
    this.maxEntries = maxEntries;
    this.entries = new Map(); // insertion order = recency order
    this.hits = 0;
    this.misses = 0;
    this.evictions = 0;
  }

  get(key) {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key); // move to the most-recent end
    this.entries.set(key, value);
    return value;
  }

  set(key, value) {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      this.entries.delete(oldest);
      this.evictions++;
    }
  }

  get size() {
    return this.entries.size;
  }
}

function pad(n, width) {
  return String(n).padStart(width, '0');
}

class FeedPage {
  constructor(userId, page) {
    this.userId = userId;
    this.page = page;
    this.renderedAt = Date.now();
    this.feedId = `feed-${pad(userId, 4)}-${pad(page, 8)}`;
    this.items = Array.from({ length: 10 }, (_, i) => ({
      id: `${this.feedId}-${pad(i, 2)}`,
      title: `Post ${pad(i, 2)} on page ${pad(page, 8)} for user ${pad(userId, 4)}`,
    }));
  }
}

// Bounded: never more than 250 pages, whatever the traffic.
const feedCache = new LruCache(250);

function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const userId = Number(url.searchParams.get('user') ?? 0);
  const page = Number(url.searchParams.get('n') ?? 0);
  const key = `${userId}:${page}`;
  let feed = feedCache.get(key);
  if (!feed) {
    feed = new FeedPage(userId, page);
    feedCache.set(key, feed);
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, page: feed.page, items: feed.items.length, cached: feedCache.size }));
}

function createServer() {
  return http.createServer(handle);
}

module.exports = { createServer, feedCache };

if (require.main === module) {
  const server = createServer();
  server.listen(Number(process.argv[2] ?? 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}/`);
  });
}

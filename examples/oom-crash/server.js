// A service that caches every session it sees and never evicts: under steady traffic the
// heap fills until V8 aborts with "JavaScript heap out of memory". Run it with a small heap
// and Node's postmortem flags to get what a production crash leaves behind:
//   node --max-old-space-size=48 --heapsnapshot-near-heap-limit=2 \
//        --report-on-fatalerror --report-directory=out --diagnostic-dir=out server.js
'use strict';

class Session {
  constructor(id) {
    this.id = id;
    this.user = 'user-' + (id % 9973);
    this.createdAt = Date.now();
    this.cart = [{ sku: 'sku-' + id, qty: 1 + (id % 3) }];
    // What a session carries: scores of a recommendation model (4 kB on the JS heap).
    this.scores = new Array(500).fill(id + 0.5);
  }
}

const sessions = new Map();
let next = 0;

function handleRequest() {
  const id = next++;
  sessions.set('s' + id, new Session(id));
}

// Traffic: a burst of requests every millisecond, as a busy service would see.
setInterval(() => {
  for (let i = 0; i < 20; i++) handleRequest();
}, 1);

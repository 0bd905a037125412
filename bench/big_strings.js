// Writes a real heap snapshot over 4 GiB where the corpus's `huge` cannot be written (node
// runs out of a 24 GiB machine while V8 serialises a 2.5 GB heap): 4.3 million distinct
// 1 kB strings make the snapshot's strings section alone pass 4 GiB with few objects, so
// every byte offset past 2³² is exercised. Node 24 writes it in about 16 GB; Node 20 did not
// fit.
//   node --max-old-space-size=12000 bench/big_strings.js OUT.heapsnapshot [COUNT]
'use strict';
const v8 = require('v8');

const [out, count = '4300000'] = process.argv.slice(2);
if (!out) {
  console.error('usage: node --max-old-space-size=12000 big_strings.js OUT.heapsnapshot [COUNT]');
  process.exit(2);
}
const n = Number(count);
const texts = new Array(n);
// V8 stores at most 1,024 characters of each string in a snapshot; distinct texts are
// stored once each.
for (let i = 0; i < n; i++) texts[i] = (`${i}:` + 'x'.repeat(1024)).slice(0, 1024);
globalThis.corpus = { texts };
console.log(`built ${n} strings; heapUsed MB ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)}`);
const started = Date.now();
v8.writeHeapSnapshot(out);
console.log(`wrote ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

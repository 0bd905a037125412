// `heaphound summary FILE` done by Chrome DevTools' own heap snapshot engine (the Memory panel's
// worker code, bundled by heap-snapshot-toolkit): parse, dominators, retained sizes, per-class summary.
// Prints a short JSON check (class count, root retained size, the 3 classes retaining the most).
// usage: node --max-old-space-size=16000 devtools.mjs FILE.heapsnapshot
import { createReadStream } from 'node:fs';
import { parse, DevToolsAPI } from 'heap-snapshot-toolkit';

const file = process.argv[2];
if (!file) { console.error('usage: node devtools.mjs FILE.heapsnapshot'); process.exit(2); }

// parse() feeds the stream to HeapSnapshotLoader and then runs JSHeapSnapshot.initialize(): edge
// indexes, retainers, flags, the dominator tree, retained sizes (filled into snap.retainedSizes by
// the "second worker" steps, here run on the same thread), distances, class names, statistics.
const snap = await parse(createReadStream(file, 'utf-8'));
// The Summary view: one aggregate per class, with count, self (shallow) and maxRet (retained) sizes.
const aggregates = snap.aggregatesWithFilter(new DevToolsAPI.HeapSnapshotModel.NodeFilter());

const classes = Object.values(aggregates);
const top = classes.sort((a, b) => b.maxRet - a.maxRet).slice(0, 3)
  .map(a => ({ name: a.name, count: a.count, self_size: a.self, retained_size: a.maxRet }));
process.stdout.write(JSON.stringify({
  tool: 'heap-snapshot-toolkit (DevTools)',
  node_count: snap.nodeCount,
  class_count: classes.length,
  total_self_size: classes.reduce((s, a) => s + a.self, 0),
  root_retained_size: snap.retainedSizes[snap.rootNodeIndex / snap.nodeFieldCount],
  top,
}) + '\n');

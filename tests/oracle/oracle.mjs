// Runs Chrome DevTools' own heap snapshot engine (bundled by heap-snapshot-toolkit) on a snapshot
// and prints the numbers heaphound must reproduce, as one JSON document on stdout.
// usage: node oracle.mjs FILE.heapsnapshot [TOP_OBJECTS]
import { createReadStream } from 'node:fs';
import { parse, DevToolsAPI } from 'heap-snapshot-toolkit';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 1000);
const snap = await parse(createReadStream(file, 'utf-8'));
const aggregates = snap.aggregatesWithFilter(new DevToolsAPI.HeapSnapshotModel.NodeFilter());
const node = snap.createNode(0);
const classes = Object.entries(aggregates).map(([key, a]) => ({
  key, name: a.name, count: a.count, shallow_size: a.self, retained_size: a.maxRet, distance: a.distance,
}));
const n = snap.nodeCount;
const order = Array.from({ length: n }, (_, i) => i);
order.sort((a, b) => snap.retainedSizes[b] - snap.retainedSizes[a] || a - b);
const objects = order.slice(0, top).map(o => {
  node.nodeIndex = o * snap.nodeFieldCount;
  return { id: node.id(), retained_size: node.retainedSize(), self_size: node.selfSize(), distance: node.distance(),
    class: node.className(), dominator_id: (node.nodeIndex = node.dominatorIndex(), node.id()) };
});
process.stdout.write(JSON.stringify({
  node_count: n, edge_count: snap.containmentEdges.length / snap.edgeFieldsCount,
  total_size: snap.totalSize, classes, objects,
}));

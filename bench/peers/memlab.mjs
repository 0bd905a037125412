// `heaphound summary FILE` done with memlab 2.0.5: load the snapshot with its dominators and retained
// sizes, then group the nodes per class (count, self size, retained size).
// Prints a short JSON check (class count, root retained size, the 3 classes retaining the most).
// usage: node --max-old-space-size=16000 memlab.mjs FILE.heapsnapshot
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const { getFullHeapFromFile } = require('@memlab/heap-analysis');

const file = process.argv[2];
if (!file) { console.error('usage: node memlab.mjs FILE.heapsnapshot'); process.exit(2); }
// memlab's progress lines and error messages go to stderr (its default, so failures are explained).

// getFullHeapFromFile -> loadProcessedSnapshot: utils.getSnapshotFromFile (HeapParser.parse) and then
// analysis.preparePathFinder(heap), which runs TraceFinder.annotateShortestPaths and
// TraceFinder.calculateAllNodesRetainedSizes (computeDominatorsAndRetainedSizes: the dominator tree
// and every node's retained size, stored in heap._nodeIdx2RetainedSize / _nodeIdx2DominatorNodeIdx).
const heap = await getFullHeapFromFile(resolve(file));
if (!heap.isProcessed) throw new Error('memlab did not compute dominators and retained sizes');

// Per-class summary, DevTools' way (buildAggregates + calculateClassesRetainedSize): nodes of self
// size 0 are left out; a class's retained size is the sum of the retained sizes of its nodes that have
// no node of the same class above them in the dominator tree (DevTools' "maxRet"). Class names are
// DevTools' older type-based ones (no "{a, b}" shape classes, closures are "(closure)").
const n = heap.nodes.length;
const classOf = new Int32Array(n), self = new Float64Array(n), ret = new Float64Array(n);
const dom = new Int32Array(n).fill(-1);
const classIds = new Map(), names = [];
const className = node => {
  switch (node.type) {
    case 'object': case 'native': return node.name;
    case 'hidden': return '(system)';
    case 'code': return '(compiled code)';
    default: return `(${node.type})`;
  }
};
let root = -1;
heap.nodes.forEach(node => {
  const i = node.nodeIndex, name = className(node);
  let c = classIds.get(name);
  if (c === undefined) { c = names.length; classIds.set(name, c); names.push(name); }
  classOf[i] = c; self[i] = node.self_size; ret[i] = node.retainedSize;
  const d = node.dominatorNode;
  if (d && d.nodeIndex !== i) dom[i] = d.nodeIndex; else if (root < 0) root = i;
});
// Children lists of the dominator tree (CSR), then one depth-first walk from the root that keeps,
// per class, how many nodes of that class are on the current path.
const first = new Int32Array(n + 1), kids = new Int32Array(n);
for (let i = 0; i < n; i++) if (dom[i] >= 0) first[dom[i] + 1]++;
for (let i = 0; i < n; i++) first[i + 1] += first[i];
const fill = first.slice(0, n);
for (let i = 0; i < n; i++) if (dom[i] >= 0) kids[fill[dom[i]]++] = i;
const count = new Float64Array(names.length), selfSum = new Float64Array(names.length);
const retSum = new Float64Array(names.length), onPath = new Int32Array(names.length);
const counted = i => self[i] > 0;
for (let i = 0; i < n; i++) if (counted(i)) { count[classOf[i]]++; selfSum[classOf[i]] += self[i]; }
// A counted node adds its retained size unless its class is already on the path; it marks the path.
const enter = i => { if (counted(i) && onPath[classOf[i]]++ === 0) retSum[classOf[i]] += ret[i]; };
const leave = i => { if (counted(i)) onPath[classOf[i]]--; };
const stack = new Int32Array(n + 1), next = new Int32Array(n + 1);
let top = 0; stack[0] = root; next[0] = first[root];
enter(root);
while (top >= 0) {
  const v = stack[top];
  if (next[top] < first[v + 1]) {
    const w = kids[next[top]++];
    enter(w);
    stack[++top] = w; next[top] = first[w];
  } else { leave(v); top--; }
}

const order = names.map((_, c) => c).sort((a, b) => retSum[b] - retSum[a]);
process.stdout.write(JSON.stringify({
  tool: 'memlab 2.0.5',
  node_count: n,
  class_count: count.filter(c => c > 0).length,
  total_self_size: selfSum.reduce((s, x) => s + x, 0),
  root_retained_size: ret[root],
  top: order.slice(0, 3).map(c => ({ name: names[c], count: count[c], self_size: selfSum[c], retained_size: retSum[c] })),
}) + '\n');

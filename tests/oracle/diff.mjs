// Runs Chrome DevTools' own engine (bundled by heap-snapshot-toolkit) on two or three
// snapshots of one process and prints what its Comparison view and its "objects allocated
// between snapshots" filter show, as one JSON document on stdout.
// usage: node diff.mjs A.heapsnapshot B.heapsnapshot [C.heapsnapshot]
//
// The Comparison view names the base snapshot's objects with the plain-object shapes of
// the snapshot it is compared with (DevTools' HeapSnapshotDiffDataGrid passes the current
// snapshot's interface definitions to the base's aggregatesForDiff); this does the same.
import { createReadStream } from 'node:fs';
import { parse, DevToolsAPI } from 'heap-snapshot-toolkit';

const files = process.argv.slice(2);
const snaps = [];
for (const f of files) snaps.push(await parse(createReadStream(f, 'utf-8')));

const pairs = [];
for (let i = 0; i + 1 < snaps.length; i++) {
  const [base, current] = [snaps[i], snaps[i + 1]];
  const defs = current.interfaceDefinitions();
  const aggregates = base.aggregatesForDiff(defs);
  const diff = current.calculateSnapshotDiff(base.uid, aggregates);
  const classes = {};
  for (const [key, d] of Object.entries(diff)) {
    classes[key] = { name: d.name, new_count: d.addedCount, deleted_count: d.removedCount,
      alloc_size: d.addedSize, freed_size: d.removedSize };
  }
  pairs.push({ classes });
}

let between = null;
if (snaps.length === 3) {
  const minId = snaps[0].updateStaticData().maxJSObjectId;
  const maxId = snaps[1].updateStaticData().maxJSObjectId;
  const filter = new DevToolsAPI.HeapSnapshotModel.NodeFilter(minId, maxId);
  const aggregates = snaps[2].aggregatesWithFilter(filter);
  const classes = {};
  for (const [key, a] of Object.entries(aggregates)) {
    classes[key] = { name: a.name, count: a.count, shallow_size: a.self, retained_size: a.maxRet };
  }
  between = { min_id: minId, max_id: maxId, classes };
}
process.stdout.write(JSON.stringify({ pairs, between }));

// A memory-leak regression test for node's own test runner: it runs the gate on a scenario
// and fails the test run, with the gate's report, when memory grows.
//   HEAPHOUND=path/to/heaphound node --test examples/gate/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const heaphound = process.env.HEAPHOUND ?? 'heaphound';
const scenario = fileURLToPath(new URL('./price-quote.js', import.meta.url));

test('pricing a quote leaves no memory behind', () => {
  const run = spawnSync(heaphound, ['gate', '--json', '-q', '--', 'node', scenario], {
    encoding: 'utf8',
  });
  assert.notEqual(run.status, 2, `the gate could not judge:\n${run.stderr}`);
  const report = JSON.parse(run.stdout);
  assert.equal(report.verdict, 'pass', `${report.reason}\n${JSON.stringify(report.suspects, null, 2)}`);
});

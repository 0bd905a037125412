// Loaded by `heaphound gate` in place of the scenario: it imports the scenario (CommonJS or
// ES module), then waits for heaphound to run rounds of it through the inspector.
//   node harness.js SCENARIO [args…]
'use strict';
const path = require('path');
const { pathToFileURL } = require('url');

const file = path.resolve(process.argv[2]);
// The scenario sees the command line it would see if run directly.
process.argv.splice(1, 1);

// Nothing else may keep the process alive: heaphound decides when it ends.
const keepAlive = setInterval(() => {}, 1 << 30);

async function load() {
  const mod = await import(pathToFileURL(file).href);
  let fn = mod.default;
  // `exports.default = async () => …` from compiled TypeScript.
  if (fn && typeof fn !== 'function' && typeof fn.default === 'function') fn = fn.default;
  if (typeof fn !== 'function') {
    throw new TypeError(
      `${file} exports no function: use \`module.exports = async () => { … }\` ` +
        'or `export default async function () { … }`',
    );
  }
  return fn;
}

// The scenario's function hangs off this object alone (not off a closure or a promise), so
// a leak's retainer path runs global → __heaphoundGate → the scenario, never through here.
const gate = {
  fn: null,
  loaded: null,
  ready() {
    return this.loaded;
  },
  async run(n) {
    const fn = this.fn;
    for (let i = 0; i < n; i++) await fn(i);
    return n;
  },
  stop() {
    clearInterval(keepAlive);
  },
};
gate.loaded = load().then((fn) => {
  gate.fn = fn;
  return true;
});
// Reported by heaphound when it asks, not as an unhandled rejection that ends the process.
gate.loaded.catch(() => {});

Object.defineProperty(globalThis, '__heaphoundGate', { enumerable: false, value: gate });

'use strict';

// Where uWebSockets.js, the peer of the handler cases, comes from: it is not
// a dependency of the project (its binary is built for one Node ABI, and the
// npm package carries every platform's, about 100 MB). In order:
// BENCH_UWS=DIR (a folder with its uws.js loader), shared/peers/uws beside
// the checkout or beside any folder above it, the npm package uwebsockets
// when installed.

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const PEER = path.join('shared', 'peers', 'uws');

// { from, load() } for the first place that has it, or { missing } saying
// where it looked.
function uwsSource() {
  const dir = process.env.BENCH_UWS;
  if (dir !== undefined) {
    const loader = path.resolve(dir, 'uws.js');
    return fs.existsSync(loader)
      ? { from: loader, load: () => require(loader) }
      : { missing: `BENCH_UWS=${dir} has no uws.js` };
  }
  for (let up = path.dirname(ROOT); ; up = path.dirname(up)) {
    const loader = path.join(up, PEER, 'uws.js');
    if (fs.existsSync(loader)) return { from: loader, load: () => require(loader) };
    if (path.dirname(up) === up) break;
  }
  try {
    const loader = require.resolve('uwebsockets');
    return { from: loader, load: () => require(loader) };
  } catch {
    return {
      missing: `uWebSockets.js is not there (no ${PEER} beside the checkout or above it, no npm package uwebsockets;` +
        ' BENCH_UWS=DIR names its folder)',
    };
  }
}

// uWebSockets.js, loaded: or an Error saying why it cannot run here (a
// binary for another Node ABI throws at require).
function loadUws() {
  const source = uwsSource();
  if (source.missing) return new Error(source.missing);
  try {
    return source.load();
  } catch (err) {
    return new Error(`uWebSockets.js from ${source.from} does not load here: ${err.message.split('\n')[0]}`);
  }
}

module.exports = { uwsSource, loadUws };

'use strict';

// The ws-* cases' load generator, bench/wsload/wsload.c: built here with the
// system's C compiler into a cache directory (named by a hash of its
// sources, so an edit rebuilds it) and run once per measured run. A Node
// client would be the bottleneck: the fast servers deliver well over 100k
// messages a second on two cores.

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const readline = require('node:readline');

const ROOT = path.join(__dirname, '..', '..');
const SOURCES = [path.join(ROOT, 'bench', 'wsload', 'wsload.c'), path.join(ROOT, 'src', 'ws', 'handshake.c')];
const INCLUDE = path.join(ROOT, 'src', 'ws');
const CACHE = path.join(os.tmpdir(), 'node-uring-bench');

// { path } of a built wsload, building it when missing; or { skip: why }
// when there is no compiler or it fails.
function wsloadBinary({ cacheDir = CACHE } = {}) {
  const hash = crypto.createHash('sha256');
  for (const file of SOURCES) hash.update(fs.readFileSync(file));
  const binary = path.join(cacheDir, `wsload-${hash.digest('hex').slice(0, 16)}`);
  if (fs.existsSync(binary)) return { path: binary };
  const cc = process.env.CC || 'cc';
  fs.mkdirSync(cacheDir, { recursive: true });
  // Built under a temporary name, renamed when whole: two benches at once
  // never run a half-written binary.
  const partial = `${binary}.${process.pid}`;
  const r = spawnSync(cc, ['-O2', '-std=c11', '-Wall', '-Wextra', '-I', INCLUDE, '-o', partial, ...SOURCES],
    { encoding: 'utf8' });
  if (r.error) return { skip: `no C compiler to build bench/wsload (${cc}: ${r.error.code}; apt-get install gcc)` };
  if (r.status !== 0) return { skip: `bench/wsload did not build: ${r.stderr.trim().split('\n')[0]}` };
  fs.renameSync(partial, binary);
  return { path: binary };
}

// wsload's arguments for a case (see CASES in bench/index.js: ws names the
// mode; depth and window, where given, its flow control).
function wsloadArgs(kase, port, { duration, warmup }) {
  const args = ['--port', String(port), '--mode', kase.ws, '--connections', String(kase.connections),
    '--duration', String(duration), '--warmup', String(warmup)];
  if (kase.depth) args.push('--depth', String(kase.depth));
  if (kase.window) args.push('--window', String(kase.window));
  return args;
}

// Runs wsload; onMeasuring() is called when its measured window starts and
// onResult(result) when it ends (both before its connections close, so
// that /proc samples taken in them bracket the window). Resolves its
// result, or rejects when it printed none.
function runWsload(binary, args, { onMeasuring = () => {}, onResult = () => {}, track } = {}) {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track?.(child);
  let stderr = '';
  let result = null;
  child.stderr.setEncoding('utf8').on('data', (s) => {
    stderr += s;
  });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    if (msg.event === 'measuring') onMeasuring(child);
    else {
      result = msg;
      onResult(result, child);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (result) resolve(result);
      else reject(new Error(`wsload ${args.join(' ')} exited (${code ?? signal}) with no result: ${stderr.trim()}`));
    });
  });
}

module.exports = { wsloadBinary, wsloadArgs, runWsload };

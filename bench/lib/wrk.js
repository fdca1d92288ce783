'use strict';

// Runs wrk and reads its report.

const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');

const SCRIPTS = path.join(__dirname, '..', 'wrk');

// wrk -v prints "wrk <version> [epoll] Copyright ..." and exits non-zero;
// null when wrk is not on PATH.
function wrkVersion() {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (r.error) return null;
  const line = `${r.stdout}${r.stderr}`.split('\n')[0];
  return line.replace(/\s*Copyright.*$/, '').trim();
}

// The wrk arguments for a case against url. Always one thread: the machine
// we have has two cores, and the server needs the other.
function wrkArgs(kase, url, seconds) {
  const args = ['-t1', `-c${kase.connections}`, `-d${seconds}s`, '--latency'];
  if (kase.script) args.push('-s', path.join(SCRIPTS, kase.script));
  for (const h of kase.headers || []) args.push('-H', h);
  args.push(url + (kase.path || '/'));
  return args;
}

// Runs wrk; stopAfterMs ends it early with SIGINT, on which wrk stops and
// still reports (wrk's -d takes whole seconds only, warm-ups may be shorter).
// track(child) lets the caller kill it on exit.
function runWrk(args, { stopAfterMs, track } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    track?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const stop = stopAfterMs && setTimeout(() => child.kill('SIGINT'), stopAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(stop);
      if (code === 0 || stopAfterMs) resolve(out);
      else reject(new Error(`wrk ${args.join(' ')} exited ${code ?? signal}: ${err.trim()}`));
    });
  });
}

const TIME_UNITS_MS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
// wrk prints sizes in powers of 1024 ("1.50MB" is 1.5 MiB).
const SIZE_UNITS = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };

// "1.23ms" -> 1.23
function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`cannot read wrk time "${text}"`);
  return Number(m[1]) * TIME_UNITS_MS[m[2]];
}

// The numbers we keep from wrk's --latency report.
function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : 0;
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out);
    if (!m) throw new Error(`wrk report has no ${p}% line:\n${out}`);
    // wrk's histogram sometimes prints 0 for percentiles, notably when
    // pipelining (wg/wrk#236, #354): no latency is 0, so it means unknown.
    return toMs(m[1]) || NaN;
  };
  const transfer = /^Transfer\/sec:\s+([\d.]+)([KMGT]?B)/m.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/^Requests\/sec:\s+([\d.]+)/m),
    requests: num(/^\s*(\d+) requests in/m),
    bytesPerSec: transfer ? Number(transfer[1]) * SIZE_UNITS[transfer[2]] : NaN, // heads included
    p50: pct(50),
    p99: pct(99),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

module.exports = { wrkVersion, wrkArgs, runWrk, parseWrk, toMs };

'use strict';

// The load generator when wrk is not installed: autocannon (a
// devDependency), run in a child process of its own, as wrk would be, so
// that its work stays out of the bench process and off the server.

const { fork } = require('node:child_process');

// "autocannon <version>", or null when it is not installed.
function autocannonVersion() {
  try {
    return `autocannon ${require('autocannon/package.json').version}`;
  } catch {
    return null;
  }
}

// Why autocannon cannot run a case, or null when it can.
function autocannonSkip(kase) {
  if ((kase.headers || []).some((h) => /^connection:\s*close$/i.test(h))) {
    // It writes the next request on a connection the server is closing, and
    // counts no response on a connection it resets itself (reconnectRate).
    return 'autocannon cannot open a connection per request';
  }
  return null;
}

// autocannon's options for a case against url.
function autocannonOptions(kase, url, seconds) {
  const opts = { url: url + (kase.path || '/'), connections: kase.connections, duration: seconds, headers: {} };
  if (kase.pipelining) opts.pipelining = kase.pipelining;
  if (kase.post) {
    opts.method = 'POST';
    // post: a body of that many bytes, or the body itself (kase.postType's).
    opts.body = typeof kase.post === 'string' ? kase.post : 'x'.repeat(kase.post);
    opts.headers['content-type'] = kase.postType ?? 'application/octet-stream';
  }
  for (const h of kase.headers || []) {
    const colon = h.indexOf(':');
    opts.headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  return opts;
}

// Runs autocannon for seconds (fractions allowed) in a child process and
// resolves the numbers bench keeps, named as parseWrk names them.
// track(child) lets the caller kill it on exit.
function runAutocannon(kase, url, seconds, { track } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [JSON.stringify(autocannonOptions(kase, url, seconds))], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    track?.(child);
    let result;
    child.once('message', (msg) => (result = msg));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result) resolve(result);
      else reject(new Error(`autocannon exited (${code ?? signal}) without a result`));
    });
  });
}

// Child side: one autocannon run, its numbers sent back over IPC.
async function child() {
  const autocannon = require('autocannon');
  const r = await autocannon(JSON.parse(process.argv[2]));
  process.send({
    rps: r.requests.total / r.duration,
    requests: r.requests.total,
    bytesPerSec: r.throughput.total / r.duration,
    p50: r.latency.p50 || NaN,
    p99: r.latency.p99 || NaN,
    non2xx: r.non2xx,
    socketErrors: r.errors,
  }, () => process.exit(0));
}

if (require.main === module) {
  child().catch((err) => {
    console.error(err.stack || err);
    process.exit(1);
  });
}

module.exports = { autocannonVersion, autocannonSkip, autocannonOptions, runAutocannon };

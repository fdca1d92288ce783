'use strict';

// node-uring behind nginx as a reverse proxy with a pool of kept-alive
// upstream connections, configured as the README's "Deploying" says: the
// pool's keepalive_timeout below the server's keepAliveTimeout, so that
// nginx never reuses a connection node-uring is closing (a POST, which
// nginx does not retry, would get a 502). nginx is started on loopback
// by the test (Debian's nginx-light; the suite skips this file without it).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { setTimeout: sleep } = require('node:timers/promises');
const { nginxPath, startNginx } = require('../bench/lib/nginx');
const { HOST, cleanup, startServer } = require('./helpers');

const KEEP_ALIVE_MS = 600; // the server's; short, so the race comes often
const UPSTREAM_IDLE_MS = 300; // nginx's pool: below KEEP_ALIVE_MS

// The README's config, with the ports and timeouts of the test.
function proxyConfig(port) {
  return {
    http: `  upstream node_uring {
    server ${HOST}:${port};
    keepalive 16;
    keepalive_timeout ${UPSTREAM_IDLE_MS}ms;
  }
`,
    server: `    client_max_body_size 8m;
    location / {
      proxy_pass http://node_uring;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
`,
  };
}

function handler(req, res) {
  if (req.url === '/chunked') {
    res.setHeader('Content-Type', 'text/plain');
    let n = 0;
    const timer = setInterval(() => {
      res.write(`chunk ${n}\n`);
      if (++n === 5) {
        clearInterval(timer);
        res.end();
      }
    }, 5);
    return;
  }
  if (req.method === 'POST') {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (c) => {
      hash.update(c);
      bytes += c.length;
    });
    req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    return;
  }
  res.end(`hello ${req.url}`);
}

describe('behind nginx (reverse proxy with an upstream keep-alive pool)', function () {
  this.timeout(30000);
  let nginx;
  let base;

  before(function () {
    if (nginxPath() === null) this.skip();
  });

  beforeEach(async () => {
    const { port } = await startServer(handler, { keepAliveTimeout: KEEP_ALIVE_MS });
    nginx = await startNginx({ ...proxyConfig(port), timeoutMs: 5000 });
    base = `http://${HOST}:${nginx.port}`;
  });

  afterEach(async () => {
    nginx?.child.kill('SIGKILL');
    await cleanup();
  });

  it('proxies GET', async () => {
    const res = await fetch(`${base}/a?b=1`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello /a?b=1');
  });

  it('proxies a 1 MiB POST body intact', async () => {
    const body = crypto.randomBytes(1 << 20);
    const res = await fetch(`${base}/upload`, { method: 'POST', body });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      bytes: body.length, sha256: crypto.createHash('sha256').update(body).digest('hex'),
    });
  });

  it('proxies a chunked response', async () => {
    const res = await fetch(`${base}/chunked`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), [0, 1, 2, 3, 4].map((n) => `chunk ${n}\n`).join(''));
  });

  it('POSTs timed to race the idle close all succeed', async () => {
    // Each POST follows the one before after an idle time around the
    // server's keep-alive timeout, where a pooled connection would be
    // closed by the server just as nginx picks it.
    const failures = [];
    for (let idle = KEEP_ALIVE_MS - 60; idle <= KEEP_ALIVE_MS + 60; idle += 20) {
      const res = await fetch(`${base}/post`, { method: 'POST', body: 'x'.repeat(100) });
      const text = await res.text();
      if (res.status !== 200) failures.push(`${idle} ms: ${res.status} ${text.slice(0, 60)}`);
      await sleep(idle);
    }
    assert.deepEqual(failures, []);
  });
});

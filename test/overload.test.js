'use strict';

// Limits under load (README): a slow handler behind many pipelining
// clients, slowloris beside normal clients, a client that does not read a
// large response, one that uploads to a handler that does not read. The
// clients that make the load run in a child process (fixtures/load_clients.js)
// so that the memory measured is the server's.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { once } = require('node:events');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { fork } = require('node:child_process');
const { Readable } = require('node:stream');
const {
  startServer, cleanup, delay, skipOnNodeBackend, RawClient, HOST, BACKEND,
} = require('./helpers');

const CLIENTS = path.join(__dirname, 'fixtures', 'load_clients.js');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const rssMiB = () => process.memoryUsage.rss() / 1048576;
// `npm run test:asan` preloads the sanitizers' runtime.
const UNDER_ASAN = (process.env.LD_PRELOAD ?? '').includes('libasan');

// The soft limit on open files, from /proc (Node has no getrlimit).
function fdLimit() {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(line.split(/\s+/)[3]);
}

// Skips the test when this process cannot hold `fds` more descriptors: Node
// cannot raise its own limit, the shell that starts mocha can (ulimit -n).
function needFds(context, fds) {
  const limit = fdLimit();
  const inUse = fs.readdirSync('/proc/self/fd').length;
  if (limit - inUse >= fds) return;
  context.test.title += ` (skipped: needs ${fds} free file descriptors, the soft limit ` +
    `is ${limit} with ${inUse} in use; raise it with ulimit -n)`;
  context.skip();
}

// Runs fixtures/load_clients.js; messages go to onMessage. Resolves the
// child; kill() on cleanup.
const children = new Set();
function clients(args, onMessage) {
  const child = fork(CLIENTS, args.map(String), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.on('message', onMessage);
  child.on('exit', () => children.delete(child));
  return child;
}

// The first message of a child that satisfies pred.
function message(child, pred = () => true) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (!pred(m)) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the clients exited (${code}) before reporting`)));
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// `n` keep-alive clients asking GET / for `ms`: the sorted latencies, in ms.
async function latencies(port, n, ms) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  const times = [];
  const end = Date.now() + ms;
  const one = () => new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    http.get({ host: HOST, port, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
        resolve();
      });
    }).on('error', reject);
  });
  await Promise.all(Array.from({ length: n }, async () => {
    while (Date.now() < end) await one();
  }));
  agent.destroy();
  return times.sort((a, b) => a - b);
}

describe('limits under load', () => {
  afterEach(async () => {
    for (const child of children) child.kill();
    await cleanup();
  });

  it('answers every request of 1,000 pipelining clients to a 5 ms handler in bounded memory', async function () {
    this.timeout(60000);
    const connections = 1000;
    const depth = 16;
    needFds(this, connections + 256);
    const { server, port } = await startServer((req, res) => {
      setTimeout(() => res.end(req.url), 5);
    });
    const round = async (ms, sample) => {
      const child = clients(['pipeline', port, connections, depth, ms], () => {});
      const timer = setInterval(sample, 100);
      try {
        return await message(child);
      } finally {
        clearInterval(timer);
      }
    };
    const check = (result) => {
      assert.equal(result.opened, connections);
      assert.equal(result.wrong, 0, 'responses with another request\'s URL, or out of order');
      assert.equal(result.lost, 0, 'requests a live connection was never answered');
      assert.equal(result.answered, result.sent);
    };
    // A first round warms the heap and the pools up to their working size.
    check(await round(3000, () => {}));
    await delay(200);
    gc();
    const before = rssMiB();
    let peak = before;
    let maxQueued = 0;
    let overloaded = false;
    const result = await round(3000, () => {
      peak = Math.max(peak, rssMiB());
      const stats = server.stats();
      maxQueued = Math.max(maxQueued, stats.requestsQueued);
      overloaded ||= stats.overloaded;
    });
    check(result);
    assert.ok(result.answered > 20000, `only ${result.answered} answered in 3 s`);
    await delay(200);
    gc();
    const after = rssMiB();
    const stats = server.stats();
    if (BACKEND === 'node') return; // node:http has no load bounds: correctness only
    // 16,000 requests could wait for the handler; 4,096 (the default) do.
    assert.equal(overloaded, true, 'the load never reached the bound');
    assert.ok(maxQueued <= server.maxQueuedRequests + 64, `${maxQueued} requests queued for JS`);
    // Measured: about 10 MiB over the warm start, at the peak and after;
    // without the bound, 14,400 requests queue and RSS rises 117 MiB at the
    // peak, 53 MiB after. ASan keeps freed memory in quarantine: RSS says
    // nothing there.
    if (!UNDER_ASAN) {
      assert.ok(peak - before < 64, `RSS rose from ${before.toFixed(0)} to ${peak.toFixed(0)} MiB`);
      assert.ok(after - before < 24, `RSS is ${after.toFixed(0)} MiB after, ${before.toFixed(0)} before`);
    }
    assert.deepEqual([stats.requestsQueued, stats.connectionsPaused, stats.overloaded, stats.accepting],
      [0, 0, false, true]);
  });

  it('stops reading, then accepting, past its bounds, and takes everyone once the handler catches up', async function () {
    skipOnNodeBackend(this, 'node:http has no load bounds');
    let held = [];
    let holding = true;
    const { server, port } = await startServer((req, res) => {
      if (holding) held.push(() => res.end(req.url));
      else res.end(req.url);
    }, { maxQueuedRequests: 8, maxPausedConnections: 4 });
    const ask = async (i) => {
      const client = await RawClient.connect(port);
      client.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      return client;
    };
    const waitFor = async (what, pred) => {
      for (let i = 0; i < 200 && !pred(server.stats()); i++) await delay(10);
      assert.ok(pred(server.stats()), `${what}: ${JSON.stringify(server.stats())}`);
    };
    const first = [];
    for (let i = 0; i < 8; i++) first.push(await ask(i));
    await waitFor('8 requests queued', (s) => s.requestsQueued === 8 && s.overloaded);
    const later = [];
    for (let i = 8; i < 14; i++) later.push(await ask(i));
    await waitFor('4 paused, not accepting', (s) => s.connectionsPaused >= 4 && !s.accepting);
    assert.equal(held.length, 8, 'a request went past the bound');
    holding = false;
    for (const answer of held) answer();
    held = [];
    const all = [...first, ...later];
    const responses = await Promise.all(all.map((c) => c.readResponses(1)));
    assert.deepEqual(responses.map(([r]) => r.body.toString()), all.map((c, i) => `/${i}`));
    await waitFor('back to normal', (s) => !s.overloaded && s.accepting && s.connectionsPaused === 0 &&
      s.requestsQueued === 0 && s.connections === 14);
  });

  it('counts stats() and getConnections() over all its rings', async () => {
    const { server, port } = await startServer((req, res) => res.end('x'), { rings: 2 });
    const sockets = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(port)));
    for (let i = 0; i < 100 && server.stats().connections < 6; i++) await delay(10);
    const count = await new Promise((resolve, reject) => {
      server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
    });
    const stats = server.stats();
    assert.deepEqual([count, stats.connections, stats.requestsQueued, stats.bytesUnsent,
      stats.connectionsPaused, stats.overloaded, stats.accepting], [6, 6, 0, 0, 0, false, true]);
    for (const client of sockets) client.socket.destroy();
  });

  it('cuts 2,000 slowloris connections at headersTimeout without slowing the other clients', async function () {
    this.timeout(40000);
    const slow = 2000;
    const headersTimeout = 1000;
    const tick = headersTimeout / 4; // how often the ring thread looks
    needFds(this, slow + 256);
    const { server, port } = await startServer((req, res) => res.end('ok'), { headersTimeout });
    await latencies(port, 8, 500); // warm up
    const unloaded = await latencies(port, 8, 2000);
    const child = clients(['slow', port, slow, 200], () => {});
    await message(child, (m) => m.opened);
    const opened = Date.now();
    const report = message(child, (m) => m.closed);
    // Over the time the slow connections wait, then are answered and closed.
    const loaded = await latencies(port, 8, headersTimeout + 1000);
    const { closed, cut } = await report;
    const left = server.stats().connections;
    const base = percentile(unloaded, 0.99);
    const attacked = percentile(loaded, 0.99);
    // node:http's own cost of 2,000 sockets (its parser and timers in JS)
    // is over 3x here: that bound is the ring thread's. The 10 ms floor is
    // a busy machine's scheduling noise on a sub-millisecond base; a ring
    // thread the attack stalls is past it by far.
    assert.ok(attacked <= Math.max(3 * base, 10) || BACKEND === 'node',
      `p99 ${attacked.toFixed(2)} ms under attack, ${base.toFixed(2)} ms without`);
    assert.ok(left <= 8, `${left} connections still open`);
    closed.sort((a, b) => a - b);
    cut.sort((a, b) => a - b);
    // Each gets its 408 and FIN past headersTimeout, by the next tick or so
    // (node:http destroys the socket after its 408, so some get a reset
    // instead); and the socket goes then, not after a linger that the
    // trickle feeds: the next byte, 200 ms on, meets a closed socket.
    const margin = tick + 500;
    if (BACKEND !== 'node') {
      assert.equal(closed.length, slow, 'slow connections that never got the FIN of a 408');
      assert.ok(closed[slow - 1] <= headersTimeout + margin,
        `the last slow connection got its FIN after ${closed[slow - 1]} ms`);
    }
    assert.ok(cut[0] >= headersTimeout, `a slow connection was closed after ${cut[0]} ms`);
    assert.ok(cut[slow - 1] <= headersTimeout + margin + 200 + 300,
      `the last slow connection was reset after ${cut[slow - 1]} ms`);
    assert.ok(Date.now() - opened < 3 * headersTimeout + 1000);
  });

  it('closes 8,000 connections at once in time linear in their number', async function () {
    skipOnNodeBackend(this, 'the ring thread\'s close path');
    this.timeout(30000);
    const count = 8000;
    needFds(this, count + 256);
    const { server, port } = await startServer((req, res) => res.end());
    const child = clients(['idle', port, count], () => {});
    await message(child, (m) => m.opened);
    // A connect() can complete before the server accepts (SYN cookies past
    // the listen backlog): let the last ones come in, a few may not.
    for (let i = 0; i < 1000 && server.stats().connections < count; i++) await delay(10);
    assert.ok(server.stats().connections > 0.95 * count, `${server.stats().connections} accepted`);
    const start = Date.now();
    server.closeAllConnections();
    while (server.stats().connections > 0 && Date.now() - start < 10000) await delay(1);
    const took = Date.now() - start;
    // Measured here: 0.3 to 0.6 s; 2.4 to 2.6 s when each close was an
    // async cancel by fd, which the kernel serves by walking every posted
    // poll (quadratic: 1.1 s for 4,000, 4.9 s for 8,000 on a busier run).
    assert.ok(took < (UNDER_ASAN ? 3000 : 1500), `closing ${count} connections took ${took} ms`);
  });

  it('holds a large response to a client that does not read at the write high-water mark', async function () {
    this.timeout(20000);
    const chunk = Buffer.alloc(64 * 1024, 'r');
    const count = 256; // 16 MiB
    let written = 0;
    const { server, port } = await startServer((req, res) => {
      res.setHeader('Content-Length', count * chunk.length);
      Readable.from((function* () {
        for (; written < count; written++) yield chunk;
      })()).pipe(res);
    });
    const socket = net.connect(port, HOST);
    await once(socket, 'connect');
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await delay(500);
    const stats = server.stats();
    // What the kernel's socket buffers take on loopback (a few MiB), then
    // the ring thread's queue, then the stream's high-water mark: no more.
    assert.ok(written < count / 2, `${written} of ${count} chunks written to a client that reads nothing`);
    assert.ok(stats.bytesUnsent <= 1024 * 1024 + 2 * chunk.length, `${stats.bytesUnsent} bytes unsent`);
    let received = 0;
    socket.on('data', (d) => (received += d.length));
    socket.resume();
    for (let i = 0; i < 500 && received < count * chunk.length; i++) await delay(10);
    socket.destroy();
    assert.ok(received > count * chunk.length, `${received} bytes received`);
    assert.equal(written, count);
  });

  it('pauses an upload the handler does not read, then cuts it at requestTimeout', async function () {
    this.timeout(20000);
    const requestTimeout = 1000;
    let req = null;
    const { server, port } = await startServer((r) => {
      req = r; // never read, never answered
    }, { requestTimeout, headersTimeout: requestTimeout });
    const client = await RawClient.connect(port);
    const start = Date.now();
    const size = 256 * 1024 * 1024;
    client.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    const block = Buffer.alloc(1024 * 1024, 'u');
    let sent = 0;
    // As fast as the socket takes it, until the server stops reading.
    while (!client.ended && !client.socket.destroyed && Date.now() - start < 3 * requestTimeout) {
      if (client.socket.writableLength < 4 * block.length) {
        client.socket.write(block);
        sent += block.length;
      } else {
        await delay(5);
      }
      if (sent % (16 * block.length) === 0) await delay(0);
    }
    const cutAfter = Date.now() - start;
    assert.ok(req !== null, 'the handler never got the request');
    // The bound README states: the stream's high-water mark, plus what the
    // ring thread had received before the pause reached it, one turn's
    // worth at most: its receive buffers (src/http/loop.c, NU_RECV_BUFS of
    // NU_RECV_BUF_SIZE, 8 MiB). A turn that finds them all full does
    // happen on loopback (4.2 MB was seen once).
    const recvBuffers = 1024 * 8192;
    assert.ok(req.readableLength < req.readableHighWaterMark + recvBuffers,
      `${req.readableLength} bytes buffered in JS`);
    assert.ok(sent < 64 * block.length, `${sent / block.length} MiB taken from a client nobody reads`);
    assert.ok(client.ended || client.socket.destroyed, 'the upload was never cut');
    assert.ok(cutAfter >= requestTimeout - 50 && cutAfter <= requestTimeout + 1000,
      `cut after ${cutAfter} ms`);
    // What JS was handed it has taken: the count comes back to nothing.
    for (let i = 0; i < 100 && server.stats().bytesQueued > 0; i++) await delay(10);
    assert.equal(server.stats().bytesQueued, 0);
  });
});

'use strict';

// Large Buffer bodies are lent to the ring thread, not copied: it sends
// from the Buffer's own bytes, and tells JS when it is done with them
// (server.stats().buffersLent counts those not yet released). The bytes
// must arrive intact wherever they sit (a slice of a larger ArrayBuffer,
// a Uint8Array), however the send is cut, and every Buffer must be let go
// once sent, once its client is gone, and once the server closes.

const assert = require('node:assert/strict');
const net = require('node:net');
const v8 = require('node:v8');
const vm = require('node:vm');
const {
  BACKEND, skipOnNodeBackend, startServer, closeServer, cleanup, request, delay,
  withTimeout, keepAliveAgent, RawClient, HOST,
} = require('./helpers');

// The smallest body lent (LEND_MIN in lib/uring_backend.js).
const LEND_MIN = 16 * 1024;

// n bytes that differ from offset to offset, so that a piece sent twice,
// or skipped, shows.
function pattern(n, seed = 0) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8) + seed) & 0xff;
  return b;
}

// The answer to /N (optionally ?chunked, ?seed=S): N bytes of pattern().
function sizedHandler(req, res) {
  const url = new URL(req.url, 'http://x');
  const body = pattern(Number(url.pathname.slice(1)), Number(url.searchParams.get('seed') ?? 0));
  if (url.searchParams.has('chunked')) {
    res.setHeader('Transfer-Encoding', 'chunked');
    res.write(body.subarray(0, body.length >> 1));
    res.end(body.subarray(body.length >> 1));
  } else {
    res.end(body);
  }
}

// Waits until server.stats().buffersLent is n, or fails after ms.
async function lentBecomes(server, n, ms = 5000) {
  const deadline = Date.now() + ms;
  while (server.stats().buffersLent !== n) {
    if (Date.now() > deadline) assert.fail(`buffersLent is ${server.stats().buffersLent}, not ${n}`);
    await delay(10);
  }
}

// A client that asks for path and reads nothing: its receive buffer kept
// small, so that a large response stays in the server's hands.
async function stalledClient(port, path) {
  const socket = net.connect({ port, host: HOST });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return socket;
}

describe('zero-copy response bodies', () => {
  afterEach(cleanup);

  it('sends Buffers of every size around the threshold intact, framed by length or chunked', async () => {
    const { port } = await startServer(sizedHandler);
    const agent = keepAliveAgent();
    const sizes = [1, LEND_MIN - 1, LEND_MIN, LEND_MIN + 1, 2 * LEND_MIN - 1, 64 * 1024, 1024 * 1024 + 7];
    for (const n of sizes) {
      for (const query of ['', '?chunked']) {
        const { res, body } = await request(port, { agent, path: `/${n}${query}` });
        assert.equal(res.statusCode, 200);
        assert.equal(body.length, n, `/${n}${query}`);
        assert.ok(body.equals(pattern(n)), `/${n}${query}: the bytes differ`);
      }
    }
  });

  it('sends pipelined responses in order, lent ones among copied ones', async () => {
    const sizes = [LEND_MIN * 2, 10, LEND_MIN, 100 * 1024, 0, LEND_MIN - 1, 300 * 1024, 5];
    const { port } = await startServer((req, res) => {
      const n = Number(req.url.slice(1));
      // A string body is copied as before, whatever its size.
      if (n === 5) res.end('a'.repeat(LEND_MIN * 2));
      else res.end(pattern(n, n & 0xff));
    });
    const client = await RawClient.connect(port);
    const rounds = 4;
    let data = '';
    for (let r = 0; r < rounds; r++) for (const n of sizes) data += `GET /${n} HTTP/1.1\r\nHost: x\r\n\r\n`;
    client.write(data);
    const responses = await client.readResponses(rounds * sizes.length);
    client.destroy();
    responses.forEach((r, i) => {
      const n = sizes[i % sizes.length];
      const want = n === 5 ? Buffer.from('a'.repeat(LEND_MIN * 2)) : pattern(n, n & 0xff);
      assert.ok(r.body.equals(want), `response ${i} (/${n}): ${r.body.length} bytes, not ${want.length} as sent`);
    });
  });

  it('sends one Buffer to many concurrent clients', async () => {
    const shared = pattern(256 * 1024, 7);
    const { server, port } = await startServer((req, res) => res.end(shared));
    const results = await Promise.all(Array.from({ length: 64 }, () => request(port)));
    for (const { body } of results) assert.ok(body.equals(shared));
    if (BACKEND !== 'node') await lentBecomes(server, 0);
  });

  it('sends a slice of a larger ArrayBuffer and a Uint8Array view: their own bytes only', async () => {
    const whole = pattern(1024 * 1024, 3);
    const ab = whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.length);
    const { port } = await startServer((req, res) => {
      if (req.url === '/buffer') res.end(Buffer.from(ab, 1001, 70000));
      else res.end(new Uint8Array(ab, 500 * 1024 + 3, 40000));
    });
    const a = await request(port, { path: '/buffer' });
    assert.ok(a.body.equals(whole.subarray(1001, 71001)));
    const b = await request(port, { path: '/view' });
    assert.ok(b.body.equals(whole.subarray(500 * 1024 + 3, 500 * 1024 + 40003)));
  });

  it('holds a lent Buffer while its client reads nothing, then sends it all as the client reads', async function () {
    skipOnNodeBackend(this, 'node:http has no lent bodies to count');
    const size = 32 * 1024 * 1024;
    const { server, port } = await startServer(sizedHandler);
    const socket = await stalledClient(port, `/${size}?chunked&seed=9`);
    // The kernel's socket buffers take a few MiB; the rest waits, lent.
    await lentBecomes(server, 2);
    const chunks = [];
    let got = 0;
    const ended = new Promise((resolve) => socket.on('data', (c) => {
      chunks.push(c);
      got += c.length;
      if (Buffer.concat(chunks.slice(-2)).subarray(-5).toString() === '0\r\n\r\n') resolve();
    }));
    // A slow reader: the ring thread's sends come back short, part way
    // through the head, the body or the framing after it.
    socket.resume();
    await withTimeout(ended, 15000, `the response (${got} bytes so far)`);
    socket.destroy();
    const raw = Buffer.concat(chunks);
    const body = [];
    let at = raw.indexOf('\r\n\r\n') + 4;
    for (;;) {
      const eol = raw.indexOf('\r\n', at);
      const n = parseInt(raw.subarray(at, eol).toString(), 16);
      if (n === 0) break;
      body.push(raw.subarray(eol + 2, eol + 2 + n));
      at = eol + 2 + n + 2;
    }
    assert.ok(Buffer.concat(body).equals(pattern(size, 9)));
    await lentBecomes(server, 0);
  });

  it('releases the Buffer of a client that resets the connection mid-body, and lets it be collected', async function () {
    skipOnNodeBackend(this, 'node:http has no lent bodies to count');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    let ref;
    const { server, port } = await startServer((req, res) => {
      const body = pattern(16 * 1024 * 1024);
      ref = new WeakRef(body);
      res.end(body);
    });
    const sockets = [];
    for (let i = 0; i < 4; i++) sockets.push(await stalledClient(port, '/'));
    await lentBecomes(server, 4);
    const closed = new Promise((resolve) => {
      let n = 0;
      for (const s of sockets) s.once('close', () => ++n === sockets.length && resolve());
    });
    for (const s of sockets) s.resetAndDestroy();
    await closed;
    await lentBecomes(server, 0);
    // Nothing holds the last body any more: the server dropped it.
    for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
      await delay(20);
      gc();
    }
    assert.equal(ref.deref(), undefined, 'the lent Buffer is still held');
    // The server goes on serving.
    const { body } = await request(port, { path: '/' });
    assert.equal(body.length, 16 * 1024 * 1024);
  });

  it('releases every lent Buffer when connections are cut, and when the server closes, with sends in flight', async function () {
    skipOnNodeBackend(this, 'node:http has no lent bodies to count');
    const { server, port } = await startServer(sizedHandler, { rings: 2 });
    const stall = async (n) => {
      const sockets = [];
      for (let i = 0; i < n; i++) sockets.push(await stalledClient(port, `/${16 * 1024 * 1024}?seed=${i}`));
      await lentBecomes(server, n);
      return sockets;
    };
    // Cut while the server runs: each release comes from the ring thread,
    // once (a second one would take the count below 0).
    let sockets = await stall(8);
    server.closeAllConnections();
    await lentBecomes(server, 0);
    for (const s of sockets) s.destroy();
    sockets = await stall(8);
    const closing = closeServer(server);
    server.closeAllConnections();
    await closing;
    assert.equal(server.stats().buffersLent, 0);
    for (const s of sockets) s.destroy();
  });
});

'use strict';

// Backpressure and idle connections on node-uring's WebSocketServer:
// send() returning false past maxBackpressure and 'drain' once all is
// sent; pub/sub skipping (or closing) a subscriber that does not read, so
// that a flood never piles up in the server; maxBufferedAmount; the idle
// timeout and its automatic pings. Clients: the ws package, and raw
// sockets that stop reading.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { once } = require('node:events');
const { WebSocket: WsClient } = require('ws');
const { WebSocketServer } = require('..');
const {
  startServer, cleanupWebSockets, withTimeout, delay, skipOnNodeBackend, HOST, BACKEND,
} = require('./helpers');

const WAIT_MS = 8000;
// `npm run test:asan` preloads the sanitizers' runtime, whose allocator
// keeps freed memory aside (its quarantine): RSS says nothing there.
const UNDER_ASAN = (process.env.LD_PRELOAD ?? '').includes('libasan');

// A raw client: the handshake by hand, then nothing read unless asked.
// Resolves the socket once the 101 is in; socket.frames() parses what it
// read since.
async function rawClient(port, { read = true } = {}) {
  const socket = net.connect(port, HOST);
  await withTimeout(once(socket, 'connect'), WAIT_MS, 'connect');
  const key = crypto.randomBytes(16).toString('base64');
  socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  // What came, in pieces: joined when looked at (a flood is many MiB).
  let chunks = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  const bytes = () => {
    if (chunks.length !== 1) chunks = [Buffer.concat(chunks)];
    return chunks[0];
  };
  while (bytes().indexOf('\r\n\r\n') === -1) await withTimeout(once(socket, 'data'), WAIT_MS, 'the 101');
  let buf = bytes();
  assert.match(buf.toString('latin1'), /^HTTP\/1\.1 101 /);
  chunks = [buf.subarray(buf.indexOf('\r\n\r\n') + 4)];
  if (!read) socket.pause();
  socket.frames = () => {
    buf = bytes();
    const out = [];
    let at = 0;
    while (buf.length - at >= 2) {
      let len = buf[at + 1] & 0x7f;
      let off = at + 2;
      if (len === 126) { len = buf.readUInt16BE(at + 2); off += 2; }
      if (len === 127) { len = Number(buf.readBigUInt64BE(at + 2)); off += 8; }
      if (buf.length < off + len) break;
      out.push({ opcode: buf[at] & 0x0f, payload: buf.subarray(off, off + len) });
      at = off + len;
    }
    return out;
  };
  return socket;
}

function closed(socket) {
  return socket.destroyed ? Promise.resolve() : once(socket, 'close');
}

describe('WebSocket backpressure', () => {
  const servers = [];
  afterEach(() => cleanupWebSockets(servers));

  async function start(options = {}, onConnection = () => {}, serverOptions) {
    const { server, port } = await startServer((req, res) => res.end('http'), serverOptions);
    const wss = new WebSocketServer({ server, ...options });
    servers.push(wss);
    wss.on('connection', onConnection);
    return { wss, server, port };
  }

  function connection(wss) {
    return withTimeout(once(wss, 'connection'), WAIT_MS, 'connection').then(([ws]) => ws);
  }

  describe('send()', () => {
    before(function () {
      skipOnNodeBackend(this, "the ws package's send() returns nothing");
    });

    it("returns false past maxBackpressure, and 'drain' comes once all is sent", async () => {
      const { wss, port } = await start({ maxBackpressure: 64 * 1024 });
      const [client, ws] = await Promise.all([rawClient(port, { read: false }), connection(wss)]);
      const chunk = Buffer.alloc(16 * 1024, 1);
      let sent = 0;
      while (sent < 100 && ws.send(chunk)) sent++;
      // 16 KiB messages and their 4-byte headers: the fourth takes
      // bufferedAmount past 64 KiB.
      assert.equal(sent, 3);
      assert.ok(ws.bufferedAmount > 64 * 1024, `bufferedAmount ${ws.bufferedAmount}`);
      // More than the kernel's buffers take from a client that reads
      // nothing: 'drain' waits for the client.
      for (let i = 0; i < 32; i++) assert.equal(ws.send(Buffer.alloc(1 << 20)), false);
      let drains = 0;
      ws.on('drain', () => drains++);
      await delay(300);
      assert.equal(drains, 0, "'drain' while the client reads nothing");
      assert.ok(ws.bufferedAmount > 32 << 20);
      client.resume();
      const deadline = Date.now() + WAIT_MS;
      while (drains === 0 && Date.now() < deadline) await delay(10);
      assert.equal(drains, 1);
      assert.equal(ws.bufferedAmount, 0);
      assert.equal(ws.send('after'), true);
      client.destroy();
    });

    it('returns true without a limit (maxBackpressure: 0)', async () => {
      const { wss, port } = await start({ maxBackpressure: 0 });
      const [client, ws] = await Promise.all([rawClient(port, { read: false }), connection(wss)]);
      for (let i = 0; i < 64; i++) assert.equal(ws.send(Buffer.alloc(64 * 1024)), true);
      client.destroy();
    });

    it('cuts the connection past maxBufferedAmount, with ERR_WS_BUFFER_FULL', async () => {
      const { wss, port } = await start({ maxBufferedAmount: 1 << 20 });
      const [client, ws] = await Promise.all([rawClient(port, { read: false }), connection(wss)]);
      const errors = [];
      ws.on('error', (err) => errors.push(err.code));
      // (events.once() would reject on the 'error'.)
      const closing = new Promise((resolve) => ws.once('close', (code) => resolve([code])));
      let n = 0;
      while (ws.readyState === ws.OPEN && n < 1000) {
        ws.send(Buffer.alloc(64 * 1024));
        n++;
      }
      // 1 MiB in 64 KiB messages, each with a 10-byte header: the 16th
      // would pass it.
      assert.equal(n, 16);
      assert.deepEqual(errors, ['ERR_WS_BUFFER_FULL']);
      const [code] = await withTimeout(closing, WAIT_MS, 'close');
      assert.equal(code, 1006);
      await withTimeout(closed(client.resume()), WAIT_MS, 'the client cut');
    });
  });

  describe('pub/sub and slow subscribers', () => {
    // A publisher floods the topic with 64 KiB messages, a few each turn
    // of the event loop so that the ring threads keep up, while the slow
    // subscriber reads nothing. Resolves once total bytes are published.
    async function flood(wss, total, size = 64 * 1024) {
      const message = Buffer.alloc(size, 7);
      for (let n = 0; n < total; n += 16 * size) {
        for (let i = 0; i < 16; i++) wss.publish('feed', message);
        await new Promise(setImmediate);
      }
    }

    // What the server holds for its connections, unsent: the ring
    // threads' count (server.stats()), or ws's bufferedAmount.
    function unsent(server, sockets) {
      if (BACKEND === 'node') return sockets.reduce((sum, ws) => sum + ws.bufferedAmount, 0);
      return server.stats().bytesUnsent;
    }

    it('skips a subscriber that does not read: the server holds no more than maxBackpressure for it', async function () {
      this.timeout(60000);
      const { wss, server, port } = await start({ maxBackpressure: 256 * 1024 }, (ws) => ws.subscribe('feed'));
      const [slow, ws] = await Promise.all([rawClient(port, { read: false }), connection(wss)]);
      const rss = process.memoryUsage().rss;
      await flood(wss, 128 << 20);
      await delay(300);
      const held = unsent(server, [ws]);
      const grown = process.memoryUsage().rss - rss;
      // 128 MiB published; what is held is the limit, a message past it,
      // and what the kernel did not take.
      assert.ok(held <= 256 * 1024 + 64 * 1024 + 16, `bytes held ${held}`);
      if (!UNDER_ASAN) assert.ok(grown < 64 << 20, `RSS grew by ${grown >> 20} MiB`);
      assert.equal(ws.readyState, ws.OPEN);
      // Once it reads, it catches up, then gets what comes next.
      slow.resume();
      const got = [];
      slow.on('data', () => {
        for (const f of slow.frames()) got.push(f);
      });
      const deadline = Date.now() + WAIT_MS;
      while (unsent(server, [ws]) > 0 && Date.now() < deadline) await delay(20);
      wss.publish('feed', 'last');
      while (Date.now() < deadline) {
        const frames = slow.frames();
        if (frames.length > 0 && frames.at(-1).payload.toString() === 'last') {
          // Skipped: far fewer than the 2048 messages published.
          assert.ok(frames.length < 1024, `frames ${frames.length}`);
          slow.destroy();
          return;
        }
        await delay(20);
      }
      assert.fail(`no 'last' message: ${slow.frames().length} frames`);
    });

    it('closes a subscriber past maxBackpressure with closeOnBackpressureLimit; the others go on', async function () {
      this.timeout(60000);
      const { wss, server, port } = await start(
        { maxBackpressure: 256 * 1024, closeOnBackpressureLimit: true }, (ws) => ws.subscribe('feed'));
      const [slow, slowWs] = await Promise.all([rawClient(port, { read: false }), connection(wss)]);
      const fast = new WsClient(`ws://${HOST}:${port}/`);
      const [fastWs] = await Promise.all([connection(wss), once(fast, 'open')]);
      let fastGot = 0;
      fast.on('message', () => fastGot++);
      const closing = once(slowWs, 'close');
      // Slowly enough for a client that reads: 64 KiB a turn, and never
      // more than 4 messages ahead of it (on a busy machine the client,
      // in this process, may fall behind a fixed pace and be closed too).
      const message = Buffer.alloc(64 * 1024, 7);
      const deadline = Date.now() + WAIT_MS;
      for (let i = 0; i < 400 && slowWs.readyState === slowWs.OPEN; i++) {
        wss.publish('feed', message);
        await delay(1);
        while (fastGot < i - 4 && Date.now() < deadline) await delay(1);
      }
      const [code] = await withTimeout(closing, WAIT_MS, "the slow subscriber's close");
      assert.equal(code, 1006);
      assert.equal(fastWs.readyState, fastWs.OPEN);
      const before = fastGot;
      wss.publish('feed', 'last');
      const lastDeadline = Date.now() + WAIT_MS;
      while (fastGot === before && Date.now() < lastDeadline) await delay(10);
      assert.ok(fastGot > before);
      assert.ok(unsent(server, [fastWs]) < 1 << 20);
      fast.terminate();
      slow.destroy();
    });
  });

  describe('idleTimeout', () => {
    before(function () {
      skipOnNodeBackend(this, 'the ws package has no idle timeout');
    });

    it('pings a quiet connection, and cuts one that does not answer', async function () {
      this.timeout(20000);
      const { wss, port } = await start({ idleTimeout: 2 });
      const started = Date.now();
      const [client, ws] = await Promise.all([rawClient(port), connection(wss)]);
      const [code] = await withTimeout(once(ws, 'close'), 10000, 'the idle close');
      const took = Date.now() - started;
      assert.equal(code, 1006);
      assert.ok(took >= 1500, `closed after ${took} ms`);
      await withTimeout(closed(client), WAIT_MS, 'the client cut');
      const frames = client.frames();
      assert.deepEqual(frames.map((f) => f.opcode), [9]); // one ping, no close frame
    });

    it('keeps a client that answers the pings (the ws package does)', async function () {
      this.timeout(20000);
      const { wss, port } = await start({ idleTimeout: 2 });
      const client = new WsClient(`ws://${HOST}:${port}/`);
      let pings = 0;
      client.on('ping', () => pings++);
      const [ws] = await Promise.all([connection(wss), once(client, 'open')]);
      await delay(4500);
      assert.equal(ws.readyState, ws.OPEN);
      assert.ok(pings >= 1, `pings ${pings}`);
      client.terminate();
    });

    it('does not count a pause() as silence: a paused connection outlives idleTimeout', async function () {
      this.timeout(20000);
      const { wss, port } = await start({ idleTimeout: 2, sendPingsAutomatically: false });
      const [quiet, ws] = await Promise.all([rawClient(port), connection(wss)]);
      ws.pause();
      await delay(4500);
      assert.equal(ws.readyState, ws.OPEN, 'paused for twice the idle timeout');
      // Resumed, and quiet, it is cut as any other.
      ws.resume();
      const started = Date.now();
      const [code] = await withTimeout(once(ws, 'close'), 10000, 'the idle close');
      assert.equal(code, 1006);
      assert.ok(Date.now() - started >= 1000, `closed ${Date.now() - started} ms after resume()`);
      quiet.destroy();
    });

    it('sends no ping with sendPingsAutomatically: false; idleTimeout: 0 never cuts', async function () {
      this.timeout(20000);
      const { wss, port } = await start({ idleTimeout: 2, sendPingsAutomatically: false });
      const [quiet, ws] = await Promise.all([rawClient(port), connection(wss)]);
      await withTimeout(once(ws, 'close'), 10000, 'the idle close');
      await withTimeout(closed(quiet), WAIT_MS, 'the client cut');
      assert.deepEqual(quiet.frames(), []);
      const { wss: wss2, port: port2 } = await start({ idleTimeout: 0 });
      const [kept, ws2] = await Promise.all([rawClient(port2), connection(wss2)]);
      await delay(3000);
      assert.equal(ws2.readyState, ws2.OPEN);
      assert.deepEqual(kept.frames(), []);
      kept.destroy();
    });

  });

  describe('options', () => {
    it('refuses an idleTimeout past 65535 s, or not an integer; a negative maxBackpressure', async () => {
      const { server } = await startServer((req, res) => res.end());
      assert.throws(() => new WebSocketServer({ server, idleTimeout: 70000 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => new WebSocketServer({ server, idleTimeout: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => new WebSocketServer({ server, maxBackpressure: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    });
  });
});

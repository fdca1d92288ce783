'use strict';

// bench/wsload, the ws-* cases' load generator, against a raw WebSocket
// server written here: its handshake check, its client frames (masked, a
// key each), and its parsing of what a server may send: messages in
// fragments with pings between them, 16-bit lengths, every frame cut into
// pieces of a few bytes; and what it must refuse.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { once } = require('node:events');
const { skipOnNodeBackend, HOST } = require('./helpers');
const { wsloadBinary, runWsload } = require('../bench/lib/wsload');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const accept = (key) => crypto.createHash('sha1').update(key + GUID).digest('base64');

// A server frame: unmasked unless mask; first and second override its first
// two bytes' flags (rsv bits, a 7-bit length) where a case breaks them.
function serverFrame(opcode, payload, { fin = true, mask = false, rsv = 0, len7, ext } = {}) {
  let head;
  if (len7 !== undefined) head = Buffer.from([0, len7, ...(ext ?? [])]);
  else if (payload.length < 126) head = Buffer.from([0, payload.length]);
  else head = Buffer.from([0, 126, payload.length >> 8, payload.length & 255]);
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([head, payload]);
  head[1] |= 0x80;
  const key = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([head, key, Buffer.from(payload.map((b, i) => b ^ key[i & 3]))]);
}

// Client frames whole in buf: [{ fin, opcode, masked, key, payload }], and
// the bytes left over.
function clientFrames(buf) {
  const frames = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    let len = buf[at + 1] & 0x7f;
    let h = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      h = 4;
    }
    const masked = Boolean(buf[at + 1] & 0x80);
    const keyLen = masked ? 4 : 0;
    if (buf.length - at < h + keyLen + len) break;
    const key = buf.subarray(at + h, at + h + keyLen);
    const data = Buffer.from(buf.subarray(at + h + keyLen, at + h + keyLen + len));
    if (masked) for (let i = 0; i < data.length; i++) data[i] ^= key[i & 3];
    frames.push({ fin: Boolean(buf[at] & 0x80), opcode: buf[at] & 0x0f, masked, key: key.toString('hex'), payload: data });
    at += h + keyLen + len;
  }
  return { frames, rest: buf.subarray(at) };
}

// Writes bufs to socket in pieces of 1 to 7 bytes, each in its own tick,
// in order: the client's reads end anywhere in a frame.
function dribble(socket, queue, bufs) {
  const pieces = [];
  for (const buf of bufs) {
    for (let i = 0; i < buf.length;) {
      const n = 1 + crypto.randomInt(7);
      pieces.push(buf.subarray(i, i + n));
      i += n;
    }
  }
  queue.pieces.push(...pieces);
  if (queue.pieces.length === pieces.length) {
    const step = () => {
      if (socket.destroyed || queue.pieces.length === 0) return;
      socket.write(queue.pieces.shift());
      setImmediate(step);
    };
    step();
  }
}

// A raw server: the handshake (answer(key) makes its 101's accept value),
// then each whole client frame to onFrame(conn, frame), where conn has
// send(...bufs) (dribbled), path, and the server's log of what came.
async function rawServer({ onFrame, answer = accept }) {
  const log = { frames: [], keys: new Set(), pongs: 0, closes: [] };
  const conns = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let conn = null;
    const queue = { pieces: [] };
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!conn) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const key = /\r\nsec-websocket-key: *(\S+)/i.exec(head)[1];
        conn = { path: head.split(' ')[1], socket, send: (...bufs) => dribble(socket, queue, bufs), index: conns.length };
        conns.push(conn);
        conn.send(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${answer(key)}\r\n\r\n`));
      }
      const { frames, rest } = clientFrames(buf);
      buf = rest;
      for (const frame of frames) {
        log.frames.push(frame);
        log.keys.add(frame.key);
        if (frame.opcode === 0xA) log.pongs++;
        if (frame.opcode === 0x8) {
          log.closes.push(frame.payload.readUInt16BE(0));
          conn.send(serverFrame(0x8, frame.payload));
          continue;
        }
        onFrame(conn, frame);
      }
    });
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return { port: server.address().port, log, conns, close: () => server.close() };
}

// Echoes each message as three fragments with a ping between the first two.
function fragmentedEcho(conn, { opcode, payload }) {
  if (opcode !== 0x1) return;
  const third = Math.floor(payload.length / 3);
  conn.send(
    serverFrame(0x1, payload.subarray(0, third), { fin: false }),
    serverFrame(0x9, Buffer.from('are you there')),
    serverFrame(0x0, payload.subarray(third, 2 * third), { fin: false }),
    serverFrame(0x0, payload.subarray(2 * third)),
  );
}

describe('bench/wsload', () => {
  let binary;
  const servers = [];

  before(function () {
    skipOnNodeBackend(this, 'a tool of `node bench`, with no node-uring server in it');
    this.timeout(60000);
    const built = wsloadBinary();
    if (built.skip) this.skip();
    binary = built.path;
  });

  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  async function start(options) {
    const s = await rawServer(options);
    servers.push(s);
    return s;
  }

  const run = (port, ...args) => runWsload(binary, ['--port', String(port), '--duration', '0.4', '--warmup', '0.1', ...args]);

  it('echoes through messages in fragments, pings between them, cut anywhere by the reads', async function () {
    this.timeout(20000);
    const s = await start({ onFrame: fragmentedEcho });
    // 200 bytes: 16-bit lengths both ways.
    const result = await run(s.port, '--connections', '3', '--depth', '2', '--size', '200');
    assert.equal(result.errors, 0, result.firstError);
    assert.ok(result.messages > 0 && result.messagesPerSec > 0, JSON.stringify(result));
    assert.ok(result.p50Ms > 0 && result.p99Ms >= result.p50Ms);
    assert.equal(s.conns.length, 3);
    assert.ok(s.conns.every((c) => c.path === '/'));
    // Every client frame masked, a key each; each ping answered with its
    // payload; each connection closed with 1000.
    const data = s.log.frames.filter((f) => f.opcode === 0x1);
    assert.ok(s.log.frames.every((f) => f.masked && f.fin));
    assert.ok(s.log.keys.size > s.log.frames.length * 0.9, `${s.log.keys.size} keys for ${s.log.frames.length} frames`);
    assert.ok(data.every((f) => f.payload.length === 200 && /^[0-9a-f]{32}x{168}$/.test(f.payload.toString())));
    assert.ok(s.log.frames.filter((f) => f.opcode === 0xA).every((f) => f.payload.toString() === 'are you there'));
    assert.ok(s.log.pongs >= result.messages, `${s.log.pongs} pongs for ${result.messages} echoes`);
    assert.deepEqual(s.log.closes, [1000, 1000, 1000]);
  });

  it('broadcasts: counts deliveries to every subscriber, and a message one missed as lost', async function () {
    this.timeout(20000);
    const drop = 7; // subscriber 1 never gets this one
    const s = await start({
      onFrame: (conn, { opcode, payload }) => {
        if (conn.path !== '/pub' || opcode !== 0x1) return;
        const seq = Number.parseInt(payload.subarray(0, 16).toString(), 16);
        for (const sub of s.conns.filter((c) => c.path === '/sub')) {
          if (seq !== drop || sub.index !== 1) sub.send(serverFrame(0x1, payload));
        }
      },
    });
    // No warm-up: message 7 comes in the measured window.
    const result = await runWsload(binary, ['--port', String(s.port), '--mode', 'broadcast', '--connections', '4',
      '--window', '4', '--duration', '0.4', '--warmup', '0']);
    assert.deepEqual(s.conns.map((c) => c.path).sort(), ['/pub', '/sub', '/sub', '/sub', '/sub']);
    assert.equal(result.lost, 1);
    assert.equal(result.errors, 1);
    assert.match(result.firstError, /missed/);
    assert.ok(result.published > drop, JSON.stringify(result));
    // Each published message reached every subscriber but the one missed,
    // give or take a window: the one still in flight at the end, and the
    // one published before the measured window began, delivered in it.
    assert.ok(result.messages >= (result.published - 4) * 4 - 1 && result.messages <= (result.published + 4) * 4,
      JSON.stringify(result));
  });

  it('refuses a 101 with a wrong Sec-WebSocket-Accept', async function () {
    this.timeout(20000);
    const s = await start({ onFrame: fragmentedEcho, answer: (key) => accept(key + 'x') });
    const result = await run(s.port, '--connections', '2');
    assert.equal(result.messages, 0);
    assert.ok(result.errors >= 1);
    assert.match(result.firstError, /Sec-WebSocket-Accept/);
  });

  // What a client must not take from a server, each in place of an echo.
  const BAD = [
    ['a masked frame', (p) => serverFrame(0x1, p, { mask: true }), /masked/],
    ['reserved bits', (p) => serverFrame(0x1, p, { rsv: 4 }), /reserved/],
    ['a 16-bit length under 126', (p) => serverFrame(0x1, p, { len7: 126, ext: [0, p.length] }), /shortest/],
    ['an unknown data opcode', (p) => serverFrame(0x3, p), /unknown data/],
    ['an unknown control opcode', (p) => serverFrame(0xB, p), /unknown control/],
    ['a continuation with no message', (p) => serverFrame(0x0, p), /continuation/],
    ['a new message inside a fragmented one', (p) => Buffer.concat([serverFrame(0x1, p, { fin: false }), serverFrame(0x1, p)]), /inside/],
    ['a fragmented ping', () => serverFrame(0x9, Buffer.from('x'), { fin: false }), /control/],
    ['a ping of 126 bytes', () => serverFrame(0x9, Buffer.alloc(126, 'x')), /control/],
    ['a message not sent', (p) => serverFrame(0x1, Buffer.from(p.toString().replace(/^./, 'z'))), /not one sent/],
    ['a binary echo of a text message', (p) => serverFrame(0x2, p), /not one sent/],
    ['a close frame', () => serverFrame(0x8, Buffer.from([0x03, 0xf3])), /closed it \(code 1011\)/],
  ];
  for (const [name, make, error] of BAD) {
    it(`fails a connection sent ${name}`, async function () {
      this.timeout(20000);
      const s = await start({
        onFrame: (conn, { opcode, payload }) => {
          if (opcode === 0x1) conn.send(make(payload));
        },
      });
      const result = await run(s.port, '--connections', '1');
      assert.ok(result.errors >= 1, JSON.stringify(result));
      assert.match(result.firstError, error);
    });
  }
});

'use strict';

// node-uring's own WebSocketServer: frames parsed and written on the ring
// thread (src/ws, src/http/wsconn.c), the ws package's API in JS. Real
// clients: the ws package, and raw sockets for what no client library
// sends (malformed frames, input cut anywhere). On the node:http backend
// the same tests run against the ws package behind the same class.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { once } = require('node:events');
const express = require('express');
const { WebSocket: WsClient } = require('ws');
const { WebSocketServer, WebSocket } = require('..');
const { startServer, cleanupWebSockets, withTimeout, delay, HOST, BACKEND } = require('./helpers');

const WAIT_MS = 8000;

async function open(port, path = '/', protocols, options) {
  const ws = new WsClient(`ws://${HOST}:${port}${path}`, protocols, options);
  await withTimeout(once(ws, 'open'), WAIT_MS, 'open');
  return ws;
}

function next(emitter, event) {
  return withTimeout(once(emitter, event), WAIT_MS, event);
}

// ---- a raw client: the handshake by hand, frames built here ----

// A client frame: masked unless mask is false; rsv sets bits 4-6 of the
// first byte; len7 and ext override the length fields.
function frame(opcode, payload = Buffer.alloc(0), { fin = true, rsv = 0, mask = true, len7, ext } = {}) {
  const data = Buffer.from(payload);
  let lenField = len7;
  let lenBytes = ext;
  if (lenField === undefined) {
    if (data.length < 126) {
      lenField = data.length;
      lenBytes = Buffer.alloc(0);
    } else if (data.length <= 0xffff) {
      lenField = 126;
      lenBytes = Buffer.alloc(2);
      lenBytes.writeUInt16BE(data.length);
    } else {
      lenField = 127;
      lenBytes = Buffer.alloc(8);
      lenBytes.writeBigUInt64BE(BigInt(data.length));
    }
  }
  const head = Buffer.from([(fin ? 0x80 : 0) | (rsv << 4) | opcode, (mask ? 0x80 : 0) | lenField]);
  if (!mask) return Buffer.concat([head, lenBytes, data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(data.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([head, lenBytes, key, masked]);
}

function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

// The server frames in buf: [{ opcode, fin, payload, end }], end being
// where each ends in buf, and what is left.
function parseFrames(buf) {
  const frames = [];
  let at = 0;
  while (buf.length - at >= 2) {
    let len = buf[at + 1] & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      off += 2;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      off += 8;
    }
    if (buf.length < off + len) break;
    assert.equal(buf[at + 1] & 0x80, 0, 'a server frame is never masked');
    frames.push({
      opcode: buf[at] & 0x0f, fin: (buf[at] & 0x80) !== 0, payload: buf.subarray(off, off + len), end: off + len,
    });
    at = off + len;
  }
  return { frames, rest: buf.subarray(at) };
}

class RawWs {
  static async connect(port, path = '/') {
    const socket = net.connect(port, HOST);
    socket.setNoDelay(true);
    await next(socket, 'connect');
    const key = crypto.randomBytes(16).toString('base64');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const raw = new RawWs(socket);
    const head = await raw.until(() => {
      const end = raw.buf.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const text = raw.buf.subarray(0, end).toString('latin1');
      raw.buf = raw.buf.subarray(end + 4);
      return text;
    }, 'the 101');
    const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, new RegExp(`\r\nSec-WebSocket-Accept: ${accept.replace(/[+/]/g, '\\$&')}(\r\n|$)`, 'i'));
    return raw;
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.waiters = [];
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  // Resolves check()'s first value other than undefined.
  until(check, what) {
    return withTimeout(new Promise((resolve) => {
      const poll = () => {
        const v = check();
        if (v !== undefined) resolve(v);
        else this.waiters.push(poll);
      };
      poll();
    }), WAIT_MS, what);
  }

  send(...frames) {
    this.socket.write(Buffer.concat(frames));
  }

  // The next server frame.
  nextFrame() {
    return this.until(() => {
      const { frames } = parseFrames(this.buf);
      if (frames.length === 0) return undefined;
      this.buf = this.buf.subarray(frames[0].end);
      return frames[0];
    }, 'a frame');
  }

  // The server's close frame: { code, reason }; then its end of the connection.
  async closeFrame() {
    for (;;) {
      const f = await this.nextFrame();
      if (f.opcode !== 8) continue;
      return { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005, reason: f.payload.subarray(2).toString() };
    }
  }

  ended_() {
    return this.until(() => (this.ended ? true : undefined), 'the server to end the connection');
  }

  destroy() {
    this.socket.destroy();
  }
}

describe('WebSocketServer', () => {
  const servers = [];
  afterEach(() => cleanupWebSockets(servers));

  // A WebSocketServer on a node-uring server, echoing unless told.
  async function start(options = {}, onConnection = echo) {
    const { server, port } = await startServer((req, res) => res.end('http'));
    const wss = new WebSocketServer({ server, ...options });
    servers.push(wss);
    wss.on('connection', onConnection);
    return { wss, server, port };
  }

  function echo(ws) {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  }

  describe('messages', () => {
    it('echoes binary messages of every length class, 0 bytes to 16 MiB', async function () {
      this.timeout(60000);
      const { port } = await start();
      const ws = await open(port);
      for (const n of [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20]) {
        const data = crypto.randomBytes(n);
        ws.send(data);
        const [got, isBinary] = await withTimeout(once(ws, 'message'), 30000, `${n} bytes`);
        assert.equal(isBinary, true);
        assert.equal(got.length, n);
        assert.ok(got.equals(data), `${n} bytes came back changed`);
      }
      ws.close();
      await next(ws, 'close');
    });

    it('echoes text messages, multi-byte characters included, up to 16 MiB', async function () {
      this.timeout(60000);
      const { port } = await start();
      const ws = await open(port);
      const unit = 'aé€😀';
      for (const reps of [0, 1, 30, 20000, (16 << 20) / 10]) {
        const text = unit.repeat(reps);
        ws.send(text);
        const [got, isBinary] = await withTimeout(once(ws, 'message'), 30000, `${reps} repetitions`);
        assert.equal(isBinary, false);
        assert.equal(got.toString(), text);
      }
      ws.terminate();
    });

    it('hands over a fragmented message whole, with a ping between its fragments', async () => {
      let serverGot;
      const { port } = await start({}, (ws) => {
        ws.on('message', (data, isBinary) => {
          serverGot = { data: Buffer.from(data), isBinary };
          ws.send(data, { binary: isBinary });
        });
      });
      const ws = await open(port);
      // Both listened to at once: the two may come in one read.
      const pongP = next(ws, 'pong');
      const messageP = next(ws, 'message');
      ws.send('frag', { fin: false });
      ws.send('men', { fin: false });
      ws.ping('between');
      ws.send('ted é', { fin: true });
      const [pong] = await pongP;
      assert.equal(pong.toString(), 'between');
      const [got, isBinary] = await messageP;
      assert.equal(got.toString(), 'fragmented é');
      assert.equal(isBinary, false);
      assert.equal(serverGot.data.toString(), 'fragmented é');
      // A binary one, and a fragmented message sent by the server.
      ws.send(Buffer.from([1, 2]), { fin: false });
      ws.send(Buffer.from([3]), { fin: true });
      const [bin, binIsBinary] = await next(ws, 'message');
      assert.deepEqual([...bin], [1, 2, 3]);
      assert.equal(binIsBinary, true);
      ws.terminate();
    });

    it('sends a fragmented message from the server', async () => {
      const { port } = await start({}, (ws) => {
        ws.send('one ', { fin: false });
        ws.send('two ', { fin: false });
        ws.send('three');
      });
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      const [got] = await next(ws, 'message');
      assert.equal(got.toString(), 'one two three');
      ws.terminate();
    });

    it('calls send callbacks once the bytes are out, and reports bufferedAmount', async () => {
      let done;
      const finished = new Promise((resolve) => { done = resolve; });
      await start({}, (ws) => {
        assert.equal(ws.readyState, WebSocket.OPEN);
        assert.equal(ws.bufferedAmount, 0);
        ws.send(Buffer.alloc(100000), () => done(ws.bufferedAmount));
        // node:http's socket may have written it all already; the ring
        // thread sends later.
        if (BACKEND !== 'node') assert.ok(ws.bufferedAmount >= 100000, `bufferedAmount ${ws.bufferedAmount}`);
      }).then(async ({ port }) => {
        const ws = await open(port);
        const [m] = await next(ws, 'message');
        assert.equal(m.length, 100000);
        ws.terminate();
      });
      assert.equal(await withTimeout(finished, WAIT_MS, 'the send callback'), 0);
    });
  });

  describe('ping and pong', () => {
    it("answers a client's ping with its payload, and tells 'ping'", async () => {
      let sawPing;
      const saw = new Promise((resolve) => { sawPing = resolve; });
      const { port } = await start({}, (ws) => ws.on('ping', (d) => sawPing(d.toString())));
      const ws = await open(port);
      ws.ping('p1');
      const [data] = await next(ws, 'pong');
      assert.equal(data.toString(), 'p1');
      assert.equal(await withTimeout(saw, WAIT_MS, "'ping'"), 'p1');
      ws.terminate();
    });

    it("pings the client, and hears its pong ('pong')", async () => {
      let heard;
      const pong = new Promise((resolve) => { heard = resolve; });
      const { port } = await start({}, (ws) => {
        ws.on('pong', (d) => heard(d.toString()));
        ws.ping('from server');
        ws.pong('unasked');
      });
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      const [ping] = await next(ws, 'ping');
      assert.equal(ping.toString(), 'from server');
      assert.equal(await withTimeout(pong, WAIT_MS, "'pong'"), 'from server');
      ws.terminate();
    });

    it('refuses a control payload past 125 bytes', async () => {
      let threw;
      const { port } = await start({}, (ws) => {
        try {
          ws.ping(Buffer.alloc(126));
        } catch (err) {
          threw = err;
        }
        ws.close();
      });
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      await next(ws, 'close');
      assert.ok(threw instanceof RangeError);
    });
  });

  describe('closing', () => {
    // The server's 'close' (code, reason) for a connection, once it comes.
    async function closeOf(onConnection) {
      let closed;
      const serverClose = new Promise((resolve) => { closed = resolve; });
      const { port, wss } = await start({}, (ws) => {
        ws.on('error', () => {});
        ws.on('close', (code, reason) => closed({ code, reason: reason.toString(), ws }));
        onConnection(ws);
      });
      return { port, wss, serverClose: withTimeout(serverClose, WAIT_MS, "the server's 'close'") };
    }

    it('the client closes with a code and reason: both sides hear them', async () => {
      const { port, serverClose } = await closeOf(() => {});
      const ws = await open(port);
      ws.close(4001, 'client says bye');
      const [code, reason] = await next(ws, 'close');
      assert.deepEqual([code, reason.toString()], [4001, 'client says bye']);
      const s = await serverClose;
      assert.deepEqual([s.code, s.reason], [4001, 'client says bye']);
      assert.equal(s.ws.readyState, WebSocket.CLOSED);
    });

    it('the client closes without a code: 1005 on both sides', async () => {
      const { port, serverClose } = await closeOf(() => {});
      const ws = await open(port);
      ws.close();
      const [code] = await next(ws, 'close');
      assert.equal(code, 1005);
      assert.equal((await serverClose).code, 1005);
    });

    it('the server closes with a code and reason', async () => {
      const { port, serverClose } = await closeOf((ws) => {
        ws.close(4002, 'server says bye');
        assert.equal(ws.readyState, WebSocket.CLOSING);
      });
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      const [code, reason] = await next(ws, 'close');
      assert.deepEqual([code, reason.toString()], [4002, 'server says bye']);
      const s = await serverClose;
      assert.deepEqual([s.code, s.reason], [4002, 'server says bye']);
    });

    it('the server terminates: 1006 on both sides', async () => {
      const { port, serverClose } = await closeOf((ws) => setImmediate(() => ws.terminate()));
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      const [code] = await next(ws, 'close');
      assert.equal(code, 1006);
      assert.equal((await serverClose).code, 1006);
    });

    it("the server terminates in its 'connection' handler: the client opens, then 1006", async () => {
      // The 101 and the cut reach the ring thread together: the 101 was
      // written, so it goes first, as it would from node's socket.
      const { port } = await closeOf((ws) => ws.terminate());
      for (let i = 0; i < 5; i++) {
        const ws = new WsClient(`ws://${HOST}:${port}/`);
        const errors = [];
        ws.on('error', (err) => errors.push(err.message));
        const opened = once(ws, 'open');
        const [code] = await withTimeout(once(ws, 'close'), WAIT_MS, 'close');
        await withTimeout(opened, 1, 'open');
        assert.deepEqual(errors, []);
        assert.equal(code, 1006);
      }
    });

    it('the client terminates, or ends its side: 1006 on the server', async () => {
      for (const how of ['terminate', 'end']) {
        const { port, serverClose } = await closeOf(() => {});
        if (how === 'terminate') {
          (await open(port)).terminate();
        } else {
          const raw = await RawWs.connect(port);
          raw.socket.end();
        }
        assert.equal((await serverClose).code, 1006, how);
      }
    });

    it('refuses to send a close code no endpoint may send, or a long reason', async () => {
      const errors = [];
      const { port } = await start({}, (ws) => {
        for (const args of [[1005], [1004], [999], [5000], ['1000'], [1000, 'x'.repeat(124)]]) {
          try {
            ws.close(...args);
          } catch (err) {
            errors.push(err.constructor.name);
          }
        }
        ws.close(1000);
      });
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      const [code] = await next(ws, 'close');
      assert.equal(code, 1000);
      assert.deepEqual(errors, ['TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'RangeError']);
    });

    it('fails a send after close through its callback', async () => {
      let got;
      const result = new Promise((resolve) => { got = resolve; });
      const { port } = await start({}, (ws) => {
        ws.close();
        ws.send('late', (err) => got(err));
      });
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      const err = await withTimeout(result, WAIT_MS, 'the callback');
      assert.ok(err instanceof Error);
      await next(ws, 'close');
    });
  });

  describe('malformed frames', () => {
    const text = (s) => Buffer.from(s);
    const CASES = [
      ['an unmasked frame', [frame(1, text('hi'), { mask: false })], 1002, 'WS_ERR_EXPECTED_MASK'],
      ['RSV1 set (no extension was agreed)', [frame(1, text('hi'), { rsv: 4 })], 1002, 'WS_ERR_UNEXPECTED_RSV_1'],
      ['RSV2 set', [frame(1, text('hi'), { rsv: 2 })], 1002, 'WS_ERR_UNEXPECTED_RSV_2_3'],
      ['opcode 3', [frame(3, text('hi'))], 1002, 'WS_ERR_INVALID_OPCODE'],
      ['opcode 11', [frame(11)], 1002, 'WS_ERR_INVALID_OPCODE'],
      ['a continuation with no message begun', [frame(0, text('x'))], 1002, 'WS_ERR_INVALID_OPCODE'],
      ['a new message inside a fragmented one', [frame(1, text('a'), { fin: false }), frame(1, text('b'))], 1002, 'WS_ERR_INVALID_OPCODE'],
      ['a fragmented ping', [frame(9, text('p'), { fin: false })], 1002, 'WS_ERR_EXPECTED_FIN'],
      ['a ping of 126 bytes', [frame(9, Buffer.alloc(126))], 1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
      ['a close of one byte', [frame(8, Buffer.from([3]))], 1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
      ['close code 1005', [frame(8, closePayload(1005))], 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
      ['close code 1004', [frame(8, closePayload(1004))], 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
      ['close code 999', [frame(8, closePayload(999))], 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
      ['close code 2999', [frame(8, closePayload(2999))], 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
      ['close code 5000', [frame(8, closePayload(5000))], 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
      ['a close reason not UTF-8', [frame(8, Buffer.concat([closePayload(1000), Buffer.from([0xc0, 0x80])]))], 1007, 'WS_ERR_INVALID_UTF8'],
      ['text not UTF-8', [frame(1, Buffer.from([0x61, 0xff]))], 1007, 'WS_ERR_INVALID_UTF8'],
      ['text with a surrogate', [frame(1, Buffer.from([0xed, 0xa0, 0x80]))], 1007, 'WS_ERR_INVALID_UTF8'],
      ['text that ends inside a character', [frame(1, Buffer.from([0x61, 0xe2, 0x82]))], 1007, 'WS_ERR_INVALID_UTF8'],
      ['fragments that end inside a character', [frame(1, Buffer.from([0xe2]), { fin: false }), frame(0, Buffer.from([0x82]))], 1007, 'WS_ERR_INVALID_UTF8'],
      ['a message past maxPayload', [frame(2, Buffer.alloc(1025))], 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
      ['fragments past maxPayload', [frame(2, Buffer.alloc(1000), { fin: false }), frame(0, Buffer.alloc(25))], 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
      ['a 64-bit length with its top bit set', [frame(2, Buffer.alloc(0), { len7: 127, ext: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0]) })], 1009, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'],
    ];

    for (const [what, frames, code, errCode] of CASES) {
      it(`closes with ${code} on ${what}`, async () => {
        let serverErr;
        const sawError = new Promise((resolve) => { serverErr = resolve; });
        const { port } = await start({ maxPayload: 1024 }, (ws) => {
          ws.on('error', (err) => serverErr(err));
          ws.on('message', () => assert.fail('no message may come of bad input'));
        });
        const raw = await RawWs.connect(port);
        raw.send(...frames);
        const close = await raw.closeFrame();
        assert.equal(close.code, code);
        const err = await withTimeout(sawError, WAIT_MS, "the server's 'error'");
        assert.equal(err.code, errCode);
        await raw.ended_();
        raw.destroy();
      });
    }

    it('takes frames cut anywhere, byte by byte', async () => {
      const { port } = await start();
      const raw = await RawWs.connect(port);
      const bytes = Buffer.concat([
        frame(1, text('hé'), { fin: false }), frame(9, text('p')), frame(0, text('llo')),
        frame(2, Buffer.alloc(300, 7)),
      ]);
      for (const b of bytes) {
        raw.send(Buffer.from([b]));
        await delay(1);
      }
      const got = [await raw.nextFrame(), await raw.nextFrame(), await raw.nextFrame()];
      assert.deepEqual(got.map((f) => f.opcode), [10, 1, 2]);
      assert.equal(got[0].payload.toString(), 'p');
      assert.equal(got[1].payload.toString(), 'héllo');
      assert.ok(got[2].payload.equals(Buffer.alloc(300, 7)));
      raw.send(frame(8, closePayload(1000, 'done')));
      assert.deepEqual(await raw.closeFrame(), { code: 1000, reason: 'done' });
      await raw.ended_();
    });

    it('takes frames that came with the handshake, before the 101 went out', async () => {
      const { port } = await start();
      const socket = net.connect(port, HOST);
      await next(socket, 'connect');
      const key = crypto.randomBytes(16).toString('base64');
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      socket.write(frame(1, text('early')));
      const raw = new RawWs(socket);
      const f = await raw.until(() => {
        const end = raw.buf.indexOf('\r\n\r\n');
        if (end < 0) return undefined;
        const { frames } = parseFrames(raw.buf.subarray(end + 4));
        return frames[0];
      }, 'the echo');
      assert.equal(f.payload.toString(), 'early');
      raw.destroy();
    });
  });

  describe('the handshake', () => {
    it('declines permessage-deflate: a client that offers it connects without it', async () => {
      const { port } = await start();
      const ws = await open(port, '/', undefined, { perMessageDeflate: true });
      assert.equal(ws.extensions, '');
      ws.send('plain');
      const [got] = await next(ws, 'message');
      assert.equal(got.toString(), 'plain');
      ws.terminate();
    });

    it('picks a subprotocol: the first offered, or what handleProtocols says', async () => {
      let seen;
      const { port } = await start({ handleProtocols: (set) => { seen = [...set]; return 'chat.v2'; } },
        (ws) => ws.send(ws.protocol));
      const ws = new WsClient(`ws://${HOST}:${port}/`, ['chat.v1', 'chat.v2']);
      const [got] = await next(ws, 'message');
      assert.equal(got.toString(), 'chat.v2');
      assert.equal(ws.protocol, 'chat.v2');
      assert.deepEqual(seen, ['chat.v1', 'chat.v2']);
      ws.terminate();
    });

    it('serves only its path; others get 400', async () => {
      const { port } = await start({ path: '/ws' });
      const ws = await open(port, '/ws?x=1');
      ws.terminate();
      const bad = new WsClient(`ws://${HOST}:${port}/other`);
      bad.on('error', () => {});
      const [, res] = await next(bad, 'unexpected-response');
      assert.equal(res.statusCode, 400);
      res.destroy();
    });

    it('asks verifyClient, synchronous or not', async () => {
      for (const verifyClient of [
        (info) => info.req.url !== '/no',
        (info, cb) => setTimeout(() => cb(info.req.url !== '/no', 403, 'Not you'), 20),
      ]) {
        const { port, wss } = await start({ verifyClient });
        const ws = await open(port, '/yes');
        ws.send('after a wait');
        const [got] = await next(ws, 'message');
        assert.equal(got.toString(), 'after a wait');
        ws.terminate();
        const bad = new WsClient(`ws://${HOST}:${port}/no`);
        bad.on('error', () => {});
        const [, res] = await next(bad, 'unexpected-response');
        assert.equal(res.statusCode, verifyClient.length === 2 ? 403 : 401);
        res.destroy();
        wss.close();
      }
    });

    it('refuses a bad handshake as ws does: version, key', async () => {
      const { port } = await start();
      for (const [headers, status] of [
        ['Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 12', 400],
        ['Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13', 400],
      ]) {
        const socket = net.connect(port, HOST);
        await next(socket, 'connect');
        socket.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n\r\n`);
        const chunks = [];
        socket.on('data', (d) => chunks.push(d));
        await next(socket, 'end');
        assert.match(Buffer.concat(chunks).toString(), new RegExp(`^HTTP/1.1 ${status} `));
        socket.destroy();
      }
    });

    it('takes handleUpgrade from noServer use, after an asynchronous check', async () => {
      const { server, port } = await startServer((req, res) => res.end('http'));
      const wss = new WebSocketServer({ noServer: true });
      servers.push(wss);
      server.on('upgrade', (req, socket, head) => {
        setTimeout(() => wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('message', (d) => ws.send(`noServer: ${d}`));
        }), 30);
      });
      const ws = await open(port);
      ws.send('hi');
      const [got] = await next(ws, 'message');
      assert.equal(got.toString(), 'noServer: hi');
      assert.equal(wss.clients.size, 1);
      ws.close();
      await next(ws, 'close');
    });
  });

  describe('the server', () => {
    it('tracks its clients, and closes once they are gone', async () => {
      const { port, wss } = await start();
      const a = await open(port);
      const b = await open(port);
      assert.equal(wss.clients.size, 2);
      for (const ws of wss.clients) assert.ok(ws instanceof (BACKEND === 'node' ? Object : WebSocket));
      let closed = false;
      wss.close(() => { closed = true; });
      a.close();
      await next(a, 'close');
      assert.equal(closed, false);
      b.close();
      await next(b, 'close');
      await withTimeout((async () => { while (!closed) await delay(5); })(), WAIT_MS, "wss 'close'");
      assert.equal(wss.clients.size, 0);
    });

    it('listens on a port of its own, answering plain HTTP with 426, and closes it', async () => {
      let listening;
      const ready = new Promise((resolve) => { listening = resolve; });
      const wss = new WebSocketServer({ port: 0, host: HOST }, () => listening());
      servers.push(wss);
      await withTimeout(ready, WAIT_MS, 'listening');
      wss.on('connection', echo);
      const { port } = wss.address();
      const res = await fetch(`http://${HOST}:${port}/`);
      assert.equal(res.status, 426);
      await res.text();
      const ws = await open(port);
      ws.send('own port');
      const [got] = await next(ws, 'message');
      assert.equal(got.toString(), 'own port');
      ws.terminate();
      await next(ws, 'close');
      wss.close();
      await next(wss, 'close');
      await assert.rejects(fetch(`http://${HOST}:${port}/`));
    });

    it("lets 'headers' add to the 101", async () => {
      const { wss, port } = await start();
      wss.on('headers', (headers) => headers.push('X-Extra: yes'));
      const ws = new WsClient(`ws://${HOST}:${port}/`);
      const [res] = await next(ws, 'upgrade');
      assert.equal(res.headers['x-extra'], 'yes');
      ws.terminate();
    });

    it('without clientTracking has no clients set', async () => {
      const { wss } = await start({ clientTracking: false });
      assert.equal(wss.clients, undefined);
    });

    it('wants exactly one of port, server and noServer', () => {
      assert.throws(() => new WebSocketServer({}), TypeError);
      assert.throws(() => new WebSocketServer({ noServer: true, port: 1 }), TypeError);
    });

    it('serves HTTP and WebSockets on one port, with Express', async () => {
      const app = express();
      app.get('/api', (req, res) => res.json({ ok: true }));
      const { server, port } = await startServer(app);
      const wss = new WebSocketServer({ server, path: '/live' });
      servers.push(wss);
      wss.on('connection', echo);
      const ws = await open(port, '/live');
      const [res] = await Promise.all([
        fetch(`http://${HOST}:${port}/api`).then((r) => r.json()),
        (async () => {
          ws.send('over the same port');
          const [got] = await next(ws, 'message');
          assert.equal(got.toString(), 'over the same port');
        })(),
      ]);
      assert.deepEqual(res, { ok: true });
      ws.terminate();
    });
  });
});

'use strict';

// WebSocketServer against browser-style clients: the WHATWG WebSocket of
// the undici package (the one Node 22 ships as its global), and Node's own
// global where this Node has one (Node 22; Node 20 only with
// --experimental-websocket). What a page sees: events, not streams,
// ArrayBuffers, close codes and reasons, wasClean.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { WebSocketServer } = require('..');
const { startServer, cleanupWebSockets, withTimeout, HOST } = require('./helpers');

const WAIT_MS = 8000;
const MIB = 1024 * 1024;

const CLIENTS = [['undici', require('undici').WebSocket]];
if (typeof globalThis.WebSocket === 'function') CLIENTS.push(['the global', globalThis.WebSocket]);

// Resolves the first `type` event of target.
function next(target, type) {
  return withTimeout(new Promise((resolve) => target.addEventListener(type, resolve, { once: true })), WAIT_MS, type);
}

for (const [name, BrowserWebSocket] of CLIENTS) {
  describe(`WebSocketServer with ${name} WebSocket (browser-style)`, () => {
    // Their clients are cut at the end: a client that refused the server's
    // 101 (Node 20's undici) never closes its connection.
    const servers = [];
    afterEach(() => cleanupWebSockets(servers));

    // A server whose WebSockets echo each message as it came (text as
    // text, binary as binary); onConnection(ws, req) may add to that.
    async function echoServer(options = {}, onConnection = () => {}) {
      const { server, port } = await startServer((req, res) => res.end('http'));
      const wss = new WebSocketServer({ server, ...options });
      servers.push(wss);
      wss.on('connection', (ws, req) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        onConnection(ws, req);
      });
      return { wss, port, url: `ws://${HOST}:${port}/` };
    }

    async function open(url, protocols) {
      const ws = new BrowserWebSocket(url, protocols);
      ws.binaryType = 'arraybuffer';
      await next(ws, 'open');
      return ws;
    }

    async function roundTrip(ws, data) {
      const message = next(ws, 'message');
      ws.send(data);
      return (await message).data;
    }

    it('echoes text as a string and binary as an ArrayBuffer', async function () {
      const { url } = await echoServer();
      const ws = await open(url);
      assert.equal(ws.protocol, '');
      assert.equal(ws.extensions, '', 'permessage-deflate is declined');
      assert.equal(await roundTrip(ws, 'héllo, wörld ✓'), 'héllo, wörld ✓');
      assert.equal(await roundTrip(ws, ''), '');
      const bytes = crypto.randomBytes(300);
      const back = await roundTrip(ws, bytes);
      assert.ok(back instanceof ArrayBuffer, `got ${Object.prototype.toString.call(back)}`);
      assert.deepEqual(Buffer.from(back), bytes);
      // A Blob goes as binary too.
      assert.deepEqual(Buffer.from(await roundTrip(ws, new Blob([bytes]))), bytes);
      ws.close();
      await next(ws, 'close');
    });

    it('negotiates a subprotocol: what handleProtocols picks is the client\'s protocol', async function () {
      let offered = null;
      let serverSide = null;
      const { url } = await echoServer({
        handleProtocols: (protocols) => {
          offered = [...protocols];
          return protocols.has('chat.v1') ? 'chat.v1' : false;
        },
      }, (ws) => {
        serverSide = ws.protocol;
      });
      const ws = await open(url, ['chat.v2', 'chat.v1']);
      assert.deepEqual(offered, ['chat.v2', 'chat.v1']);
      assert.equal(ws.protocol, 'chat.v1');
      assert.equal(serverSide, 'chat.v1');
      assert.equal(await roundTrip(ws, 'over chat.v1'), 'over chat.v1');
      ws.close();
      await next(ws, 'close');
      // Offering only what the server does not take: its 101 names no
      // protocol, which a browser refuses (RFC 6455 4.1; WHATWG "fail the
      // WebSocket connection"): an error, never open. (Node 20's own
      // undici stops there, CONNECTING; undici 7 closes, 1006.)
      const refused = new BrowserWebSocket(url, ['chat.v3']);
      let opened = false;
      refused.addEventListener('open', () => {
        opened = true;
      });
      await next(refused, 'error');
      assert.equal(opened, false);
      // Offering none: no protocol, connected.
      const plain = await open(url);
      assert.equal(plain.protocol, '');
      plain.close();
      await next(plain, 'close');
    });

    it("carries the client's close code and reason to the server, and back", async function () {
      let serverClosed;
      const closed = new Promise((resolve) => {
        serverClosed = resolve;
      });
      const { url } = await echoServer({}, (ws) => ws.on('close', (code, reason) => {
        serverClosed({ code, reason: reason.toString() });
      }));
      const ws = await open(url);
      const closing = next(ws, 'close');
      ws.close(4000, 'client says bye ✓');
      const event = await closing;
      assert.equal(event.wasClean, true);
      assert.equal(event.code, 4000);
      assert.equal(event.reason, 'client says bye ✓');
      assert.deepEqual(await withTimeout(closed, WAIT_MS, "the server's close event"),
        { code: 4000, reason: 'client says bye ✓' });
    });

    // A server that closes on a message: "close" with no code, "terminate"
    // at once, else with 4001 and a reason. Resolves its close events.
    async function closingServer() {
      let serverClosed;
      const closed = new Promise((resolve) => {
        serverClosed = resolve;
      });
      const { url } = await echoServer({}, (ws) => {
        ws.on('message', (data) => {
          const text = data.toString();
          if (text === 'close') ws.close();
          else if (text === 'terminate') ws.terminate();
          else ws.close(4001, 'done here, é');
        });
        ws.on('close', (code) => serverClosed(code));
      });
      return { url, closed: () => withTimeout(closed, WAIT_MS, "the server's close event") };
    }

    // Opens a client, sends text, resolves its close event.
    async function closedAfter(url, text) {
      const ws = await open(url);
      const closing = next(ws, 'close');
      ws.send(text);
      const event = await closing;
      assert.equal(ws.readyState, BrowserWebSocket.CLOSED);
      return event;
    }

    it('closes from the server: its code and reason reach the client, clean', async function () {
      const server = await closingServer();
      const event = await closedAfter(server.url, 'close me');
      assert.equal(event.code, 4001);
      assert.equal(event.reason, 'done here, é');
      assert.equal(event.wasClean, true);
      assert.equal(await server.closed(), 4001);
    });

    it('closes from the server with no code: 1005 at the client; terminate(): 1006, not clean', async function () {
      const server = await closingServer();
      const plain = await closedAfter(server.url, 'close');
      assert.deepEqual([plain.code, plain.reason, plain.wasClean], [1005, '', true]);
      const cut = await closedAfter(server.url, 'terminate');
      assert.deepEqual([cut.code, cut.wasClean], [1006, false]);
    });

    it('echoes a 1 MiB binary message and a 1 MiB text one', async function () {
      this.timeout(20000);
      const { url } = await echoServer();
      const ws = await open(url);
      const bytes = crypto.randomBytes(MIB);
      assert.deepEqual(Buffer.from(await roundTrip(ws, bytes)), bytes);
      const text = 'é'.repeat(MIB / 2); // 1 MiB of UTF-8, two bytes a character
      assert.equal(Buffer.byteLength(text), MIB);
      assert.equal(await roundTrip(ws, text), text);
      ws.close(1000);
      assert.equal((await next(ws, 'close')).code, 1000);
    });
  });
}

'use strict';

// The parts of ws's WebSocket that browser-style code and ws users lean
// on besides send() and 'message': binaryType, addEventListener() and the
// on<event> attributes with their Event objects, pause() and resume().
// The same tests run on the node:http backend, where the socket is ws's
// own: both must behave alike. Clients: the ws package, a raw socket.

const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const { WebSocket: WsClient } = require('ws');
const { WebSocketServer } = require('..');
const { startServer, cleanupWebSockets, withTimeout, delay, HOST } = require('./helpers');

const WAIT_MS = 8000;

describe('WebSocket events, binaryType, pause()', () => {
  const servers = [];
  afterEach(() => cleanupWebSockets(servers));

  // A server, and one client connected to it: { ws (the server's
  // socket), client }. setup(ws) runs on 'connection', before any message.
  async function connect(setup = () => {}, options = {}) {
    const { server, port } = await startServer((req, res) => res.end('http'));
    const wss = new WebSocketServer({ server, ...options });
    servers.push(wss);
    const connected = once(wss, 'connection').then(([ws]) => {
      setup(ws);
      return ws;
    });
    const client = new WsClient(`ws://${HOST}:${port}/`);
    const [ws] = await withTimeout(Promise.all([connected, once(client, 'open')]), WAIT_MS, 'open');
    return { ws, client, port };
  }

  // The next n messages' (data, isBinary), as 'message' gives them.
  function messages(ws, n) {
    return withTimeout(new Promise((resolve) => {
      const got = [];
      ws.on('message', function onMessage(data, isBinary) {
        got.push([data, isBinary]);
        if (got.length === n) {
          ws.off('message', onMessage);
          resolve(got);
        }
      });
    }), WAIT_MS, `${n} messages`);
  }

  it('gives binary messages as binaryType says; text ones as Buffers; ignores other types', async () => {
    const { ws, client } = await connect();
    assert.equal(ws.binaryType, 'nodebuffer');
    ws.binaryType = 'no such type';
    assert.equal(ws.binaryType, 'nodebuffer');

    ws.binaryType = 'arraybuffer';
    let got = messages(ws, 2);
    client.send(Buffer.from([1, 2, 3]));
    client.send('text');
    let [[bin, isBinary], [text]] = await got;
    assert.equal(isBinary, true);
    assert.ok(bin instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(bin)], [1, 2, 3]);
    assert.ok(Buffer.isBuffer(text));
    assert.equal(text.toString(), 'text');

    ws.binaryType = 'fragments';
    got = messages(ws, 1);
    client.send(Buffer.from('frag'));
    [[bin]] = await got;
    assert.ok(Array.isArray(bin));
    assert.equal(Buffer.concat(bin).toString(), 'frag');

    ws.binaryType = 'blob';
    got = messages(ws, 1);
    client.send(Buffer.from('blob bytes'));
    [[bin]] = await got;
    assert.ok(bin instanceof Blob);
    assert.equal(await bin.text(), 'blob bytes');
    client.terminate();
  });

  it('calls addEventListener() handlers with Event objects: once, each handler once, removable', async () => {
    const { ws, client } = await connect();
    const seen = [];
    const handler = function (event) { seen.push(['fn', this === ws, event.type, event.data, event.target === ws]); };
    const object = { handleEvent(event) { seen.push(['object', event.data]); } };
    ws.addEventListener('message', handler);
    ws.addEventListener('message', handler); // already: called once
    ws.addEventListener('message', object);
    ws.addEventListener('message', (event) => seen.push(['once', event.data]), { once: true });
    ws.addEventListener('no-such-event', handler);
    let got = messages(ws, 2);
    client.send('one');
    client.send(Buffer.from('two'));
    await got;
    assert.deepEqual(seen.slice(0, 4), [
      ['fn', true, 'message', 'one', true], ['object', 'one'], ['once', 'one'],
      ['fn', true, 'message', Buffer.from('two'), true],
    ]);
    assert.deepEqual(seen[4], ['object', Buffer.from('two')]);
    assert.equal(seen.length, 5);

    ws.removeEventListener('message', handler);
    ws.removeEventListener('message', object);
    got = messages(ws, 1);
    client.send('three');
    await got;
    assert.equal(seen.length, 5);
    client.terminate();
  });

  it('keeps on<event> attributes apart from addEventListener(): set, replaced, cleared', async () => {
    const { ws, client } = await connect();
    assert.equal(ws.onmessage, null);
    const seen = [];
    const first = (event) => seen.push(['first', event.data]);
    const added = (event) => seen.push(['added', event.data]);
    ws.addEventListener('message', added);
    ws.onmessage = first;
    assert.equal(ws.onmessage, first);
    ws.onmessage = (event) => seen.push(['second', event.data]); // replaces first
    let got = messages(ws, 1);
    client.send('a');
    await got;
    assert.deepEqual(seen, [['added', 'a'], ['second', 'a']]);
    ws.onmessage = null;
    assert.equal(ws.onmessage, null);
    ws.removeEventListener('message', first); // an attribute's: not removed by this
    got = messages(ws, 1);
    client.send('b');
    await got;
    assert.deepEqual(seen, [['added', 'a'], ['second', 'a'], ['added', 'b']]);
    client.terminate();
  });

  it("gives onclose a CloseEvent (code, reason, wasClean) and onerror an ErrorEvent", async () => {
    const { ws, client } = await connect();
    const closed = new Promise((resolve) => { ws.onclose = resolve; });
    client.close(4001, 'bye');
    const event = await withTimeout(closed, WAIT_MS, 'onclose');
    assert.equal(event.type, 'close');
    assert.equal(event.target, ws);
    assert.equal(event.code, 4001);
    assert.equal(event.reason, 'bye');
    assert.equal(event.wasClean, true);

    // A client frame without a mask: a protocol error, 'error' then 'close'.
    const { server, port } = await startServer((req, res) => res.end());
    const wss = new WebSocketServer({ server });
    servers.push(wss);
    const raw = net.connect(port, HOST);
    raw.on('error', () => {});
    const [[bad]] = await Promise.all([once(wss, 'connection'), once(raw, 'connect').then(() => {
      raw.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    })]);
    const errored = new Promise((resolve) => { bad.onerror = resolve; });
    const badClose = new Promise((resolve) => bad.addEventListener('close', resolve));
    raw.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", unmasked
    const error = await withTimeout(errored, WAIT_MS, 'onerror');
    assert.equal(error.type, 'error');
    assert.ok(error.error instanceof Error);
    assert.equal(error.message, error.error.message);
    raw.destroy(); // no closing handshake: the server's close comes at once
    const close = await withTimeout(badClose, WAIT_MS, "the bad client's close");
    assert.equal(close.code, 1006); // no close frame came from the peer, as in ws
    assert.equal(close.wasClean, false);
    client.terminate();
  });

  it('holds messages while paused and delivers them, in order, once resumed', async () => {
    const { ws, client } = await connect((s) => s.pause());
    assert.equal(ws.isPaused, true);
    let count = 0;
    ws.on('message', () => count++);
    for (let i = 0; i < 20; i++) client.send(`m${i}`);
    await delay(300);
    assert.equal(count, 0, 'no message while paused');
    const got = messages(ws, 20);
    ws.resume();
    assert.equal(ws.isPaused, false);
    assert.deepEqual((await got).map(([data]) => data.toString()),
      Array.from({ length: 20 }, (_, i) => `m${i}`));
    // Sending is not paused: the client hears back while the server pauses.
    ws.pause();
    ws.send('still sending');
    const [reply] = await withTimeout(once(client, 'message'), WAIT_MS, 'a reply');
    assert.equal(reply.toString(), 'still sending');
    ws.resume();
    client.terminate();
    await withTimeout(once(ws, 'close'), WAIT_MS, 'close');
    ws.pause(); // closed: a no-op
    assert.equal(ws.isPaused, false);
  });
});

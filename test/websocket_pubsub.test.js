'use strict';

// Pub/sub on node-uring's WebSocketServer: ws.subscribe(), unsubscribe(),
// isSubscribed(), getTopics(), ws.publish() and wss.publish(). On the
// io_uring backend the ring threads keep the subscriptions and send each
// published frame to the subscribers (src/http/topics.c, loop.c); on the
// node:http backend lib/websocket.js does it in JS over the ws package.
// Real clients: the ws package.

const assert = require('node:assert/strict');
const { once } = require('node:events');
const { WebSocket: WsClient } = require('ws');
const { WebSocketServer } = require('..');
const { startServer, cleanupWebSockets, withTimeout, delay, HOST, BACKEND } = require('./helpers');

const WAIT_MS = 8000;

// A client that records every message as 'text' or 'binary:'-prefixed,
// once the server said it is ready (subscribed).
async function subscriber(port, path = '/') {
  const ws = new WsClient(`ws://${HOST}:${port}${path}`);
  ws.got = [];
  const [ready] = await withTimeout(once(ws, 'message'), WAIT_MS, 'ready');
  assert.equal(ready.toString(), 'ready');
  ws.on('message', (m, binary) => ws.got.push(binary ? `binary:${m}` : m.toString()));
  return ws;
}

// Resolves once every client has n messages; rejects after WAIT_MS.
async function received(clients, n) {
  const deadline = Date.now() + WAIT_MS;
  while (clients.some((c) => c.got.length < n)) {
    if (Date.now() > deadline) {
      throw new Error(`messages: ${clients.map((c) => c.got.length).join(',')}, want ${n} each`);
    }
    await delay(10);
  }
}

describe('WebSocket pub/sub', () => {
  const servers = [];
  afterEach(() => cleanupWebSockets(servers));

  // A WebSocketServer whose connections subscribe to topics(req) and say
  // 'ready'; a message 'publish:<topic>:<text>' from a client is
  // published by its socket.
  async function start({ topics = () => ['news'], server: serverOptions, ...options } = {}) {
    const { server, port } = await startServer((req, res) => res.end('http'), serverOptions);
    const wss = new WebSocketServer({ server, ...options });
    servers.push(wss);
    const rings = new Set();
    wss.on('connection', (ws, req) => {
      rings.add(req.socket.ring);
      for (const topic of topics(req)) ws.subscribe(topic);
      ws.on('message', (m) => {
        const [verb, topic, text] = m.toString().split(':');
        if (verb === 'publish') ws.publish(topic, text);
        if (verb === 'unsubscribe') ws.send(String(ws.unsubscribe(topic)));
      });
      ws.send('ready');
    });
    return { wss, server, port, rings };
  }

  it('publishes once to every subscriber, on every ring (rings: 2)', async function () {
    const { wss, port, rings } = await start({ server: { rings: 2 } });
    const clients = [];
    for (let i = 0; i < 40; i++) clients.push(await subscriber(port));
    // The kernel spreads the connections over the rings' sockets.
    if (BACKEND !== 'node') assert.equal(rings.size, 2, 'connections on both rings');
    for (let i = 0; i < 5; i++) wss.publish('news', `m${i}`);
    await received(clients, 5);
    for (const c of clients) assert.deepEqual(c.got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    for (const c of clients) c.terminate();
  });

  it("ws.publish() reaches the other subscribers, on every ring, but not itself", async () => {
    const { port, rings } = await start({ server: { rings: 2 } });
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await subscriber(port));
    if (BACKEND !== 'node') assert.equal(rings.size, 2);
    clients[0].send('publish:news:hello');
    await received(clients.slice(1), 1);
    for (const c of clients.slice(1)) assert.deepEqual(c.got, ['hello']);
    // A message published after is the next each gets: none went to the
    // publisher, which gets only what another publishes.
    clients[1].send('publish:news:second');
    await received([clients[0]], 1);
    assert.deepEqual(clients[0].got, ['second']);
    assert.deepEqual(clients[1].got, ['hello']);
    for (const c of clients) c.terminate();
  });

  it('sends text or binary: by the data, or as { binary } says', async () => {
    const { wss, port } = await start();
    const c = await subscriber(port);
    wss.publish('news', 'text');
    wss.publish('news', Buffer.from('bytes'));
    wss.publish('news', 'as-binary', { binary: true });
    wss.publish('news', Buffer.from('as-text'), { binary: false });
    wss.publish('news', new Uint8Array([0x68, 0x69]));
    wss.publish('news', '');
    wss.publish('news', 'héllo ☃');
    await received([c], 7);
    assert.deepEqual(c.got, ['text', 'binary:bytes', 'binary:as-binary', 'as-text', 'binary:hi', '', 'héllo ☃']);
    c.terminate();
  });

  it('publishes large messages whole, in order (within maxBackpressure)', async () => {
    const { wss, port } = await start({ maxBackpressure: 4 << 20 });
    const c = await subscriber(port);
    const sizes = [125, 126, 65535, 65536, 1 << 20];
    for (const n of sizes) wss.publish('news', Buffer.alloc(n, n & 0xff));
    await received([c], sizes.length);
    assert.deepEqual(c.got.map((m) => m.length - 'binary:'.length), sizes);
    c.terminate();
  });

  // A burst of publishes to one topic goes to the ring thread as one
  // chunk (nu_server_publish() merges them): what is queued between two
  // of them keeps its place, and each message arrives whole.
  it('keeps a burst of publishes in order with what is sent, subscribed and published between them', async () => {
    const { wss, port } = await start({ topics: () => ['news', 'other'] });
    const [[ws], c] = await Promise.all([once(wss, 'connection'), subscriber(port)]);
    wss.publish('news', 'n1');
    wss.publish('news', 'n2');
    ws.send('direct');
    wss.publish('news', 'n3');
    wss.publish('other', 'o1');
    wss.publish('news', 'n4');
    ws.publish('news', 'skips-itself'); // skips ws: not merged with n4
    wss.publish('news', 'n5');
    wss.publish('late', 'before-subscribe');
    ws.subscribe('late');
    wss.publish('late', 'after-subscribe');
    ws.unsubscribe('news');
    wss.publish('news', 'after-unsubscribe');
    wss.publish('other', 'end');
    await received([c], 9);
    await delay(50);
    assert.deepEqual(c.got, ['n1', 'n2', 'direct', 'n3', 'o1', 'n4', 'n5', 'after-subscribe', 'end']);
    c.terminate();
  });

  it('delivers bursts of publishes of every size around the merge limit whole, on every ring (rings: 2)', async function () {
    const { wss, port, rings } = await start({ server: { rings: 2 }, maxBackpressure: 16 << 20 });
    const clients = [];
    for (let i = 0; i < 8; i++) clients.push(await subscriber(port));
    if (BACKEND !== 'node') assert.equal(rings.size, 2);
    // 16 KiB a chunk at most: these sizes merge, fill and overflow it.
    const sizes = [];
    for (let i = 0; i < 300; i++) sizes.push([0, 1, 125, 126, 1000, 8190, 16381, 16384, 20000][i % 9]);
    const bytes = clients.map((c) => {
      const all = [];
      c.on('message', (m) => all.push(m));
      return all;
    });
    sizes.forEach((n, i) => wss.publish('news', Buffer.alloc(n, i & 0xff)));
    await received(clients, sizes.length);
    for (const all of bytes) {
      assert.equal(all.length, sizes.length);
      all.forEach((m, i) => {
        assert.equal(m.length, sizes[i], `message ${i}`);
        assert.ok(m.every((b) => b === (i & 0xff)), `message ${i}'s bytes`);
      });
    }
    for (const c of clients) c.terminate();
  });

  it('reaches only the subscribers of the topic published', async () => {
    const { wss, port } = await start({ topics: (req) => req.url.slice(1).split(',').filter(Boolean) });
    const a = await subscriber(port, '/a');
    const b = await subscriber(port, '/b');
    const ab = await subscriber(port, '/a,b');
    const none = await subscriber(port, '/');
    wss.publish('a', 'to-a');
    wss.publish('b', 'to-b');
    wss.publish('c', 'to-nobody');
    wss.publish('', 'to-empty');
    wss.publish('a', 'end');
    wss.publish('b', 'end');
    await received([a, b], 2);
    await received([ab], 4);
    await delay(50);
    assert.deepEqual(a.got, ['to-a', 'end']);
    assert.deepEqual(b.got, ['to-b', 'end']);
    assert.deepEqual(ab.got, ['to-a', 'to-b', 'end', 'end']);
    assert.deepEqual(none.got, []);
    for (const c of [a, b, ab, none]) c.terminate();
  });

  it('keeps subscribe() and unsubscribe() state: isSubscribed(), getTopics()', async () => {
    const { wss, port } = await start({ topics: () => [] });
    const [ws] = await Promise.all([
      once(wss, 'connection').then(([s]) => s),
      subscriber(port),
    ]);
    assert.equal(ws.isSubscribed('x'), false);
    assert.deepEqual(ws.getTopics(), []);
    assert.equal(ws.subscribe('x'), true);
    assert.equal(ws.subscribe('x'), false); // already
    assert.equal(ws.subscribe('y'), true);
    assert.equal(ws.isSubscribed('x'), true);
    assert.deepEqual(ws.getTopics().sort(), ['x', 'y']);
    assert.equal(ws.unsubscribe('x'), true);
    assert.equal(ws.unsubscribe('x'), false);
    assert.equal(ws.unsubscribe('never'), false);
    assert.deepEqual(ws.getTopics(), ['y']);
    ws.terminate();
    await withTimeout(once(ws, 'close'), WAIT_MS, 'close');
    assert.deepEqual(ws.getTopics(), []);
    assert.equal(ws.subscribe('z'), false); // closed
  });

  it('stops sending a topic to a socket that unsubscribed', async () => {
    const { wss, port } = await start({ topics: () => ['t', 'other'] });
    const c = await subscriber(port);
    wss.publish('t', 'before');
    c.send('unsubscribe:t');
    await received([c], 2);
    assert.deepEqual(c.got, ['before', 'true']);
    wss.publish('t', 'after'); // not for c any more
    wss.publish('other', 'sentinel');
    await received([c], 3);
    assert.deepEqual(c.got, ['before', 'true', 'sentinel']);
    c.terminate();
  });

  it("drops a closed socket's subscriptions: the connection in its slot gets none", async () => {
    // One ring: the second connection takes the first one's slot.
    const { wss, port } = await start({ topics: (req) => (req.url === '/old' ? ['old'] : ['new']) });
    const first = await subscriber(port, '/old');
    const closed = once([...wss.clients][0], 'close');
    first.close();
    await withTimeout(closed, WAIT_MS, 'close on the server');
    await delay(50);
    const second = await subscriber(port, '/new');
    wss.publish('old', 'stale');
    wss.publish('new', 'fresh');
    await received([second], 1);
    await delay(50);
    assert.deepEqual(second.got, ['fresh']);
    second.terminate();
  });

  it('counts the subscribers of a topic on every ring: numSubscribers() (rings: 2)', async () => {
    const { wss, port } = await start({ server: { rings: 2 } });
    assert.equal(wss.numSubscribers('news'), 0);
    const clients = [];
    for (let i = 0; i < 10; i++) clients.push(await subscriber(port));
    assert.equal(wss.numSubscribers('news'), 10);
    assert.equal(wss.numSubscribers('other'), 0);
    clients[0].send('unsubscribe:news');
    await received([clients[0]], 1);
    assert.equal(wss.numSubscribers('news'), 9);
    const gone = [...wss.clients].find((ws) => ws.isSubscribed('news'));
    const closed = once(gone, 'close');
    gone.terminate();
    await withTimeout(closed, WAIT_MS, 'close');
    assert.equal(wss.numSubscribers('news'), 8);
    assert.throws(() => wss.numSubscribers(7), { code: 'ERR_INVALID_ARG_TYPE' });
    for (const c of clients) c.terminate();
  });

  it('refuses a topic that is not a string or is longer than 1 KiB, with a code', async () => {
    const { wss, port } = await start({ topics: () => [] });
    const [[ws], c] = await Promise.all([once(wss, 'connection'), subscriber(port)]);
    assert.throws(() => ws.subscribe(42), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => ws.subscribe('x'.repeat(1025)), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ws.subscribe('é'.repeat(513)), { code: 'ERR_OUT_OF_RANGE' }); // 1026 bytes
    assert.throws(() => wss.publish('x'.repeat(1025), 'm'), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ws.publish(undefined, 'm'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.deepEqual(ws.getTopics(), []);
    const longest = 'é'.repeat(512); // 1024 bytes
    assert.equal(ws.subscribe(longest), true);
    wss.publish(longest, 'longest');
    await received([c], 1);
    assert.deepEqual(c.got, ['longest']);
    c.terminate();
  });
});

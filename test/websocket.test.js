'use strict';

// The real `ws` and socket.io on a node-uring server, both backends.

const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const { WebSocketServer, WebSocket } = require('ws');
const { Server: IoServer } = require('socket.io');
const { WebSocketServer: UringWebSocketServer, WebSocket: UringWebSocket } = require('..');
const ioClient = require('socket.io-client');
const { startServer, cleanup, delay, withTimeout, HOST, BACKEND } = require('./helpers');

// A ws server attached by hand, as the ws docs show for noServer.
async function wsServer(onConnection) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 << 20 });
  const { server, port } = await startServer((req, res) => res.end('http'));
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', onConnection);
  return { wss, server, port };
}

function echo(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

async function open(port, path = '/') {
  const ws = new WebSocket(`ws://${HOST}:${port}${path}`);
  await withTimeout(once(ws, 'open'), 5000, 'open');
  return ws;
}

async function nextMessage(ws) {
  const [data, isBinary] = await withTimeout(once(ws, 'message'), 5000, 'a message');
  return { data, isBinary };
}

describe('ws', () => {
  const wssList = [];
  afterEach(async () => {
    for (const wss of wssList.splice(0)) {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
    await cleanup();
  });

  async function start(onConnection = echo) {
    const s = await wsServer(onConnection);
    wssList.push(s.wss);
    return s;
  }

  it('echoes text and binary messages', async () => {
    const { port } = await start();
    const ws = await open(port);
    ws.send('hello');
    let m = await nextMessage(ws);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString(), 'hello');
    ws.send(Buffer.from([0, 1, 2, 255]));
    m = await nextMessage(ws);
    assert.equal(m.isBinary, true);
    assert.deepEqual([...m.data], [0, 1, 2, 255]);
    ws.close();
    await once(ws, 'close');
  });

  it('answers a ping with a pong', async () => {
    const { port } = await start();
    const ws = await open(port);
    ws.ping('p1');
    const [data] = await withTimeout(once(ws, 'pong'), 5000, 'pong');
    assert.equal(data.toString(), 'p1');
    ws.terminate();
  });

  it('carries close codes and reasons both ways', async () => {
    let serverClosed;
    const serverSaw = new Promise((resolve) => { serverClosed = resolve; });
    const { port } = await start((ws) => {
      ws.on('close', (code, reason) => serverClosed([code, reason.toString()]));
      ws.on('message', (data) => {
        if (data.toString() === 'x') ws.close(4001, `bye ${data}`);
      });
    });
    const ws = await open(port);
    ws.send('x');
    const [code, reason] = await withTimeout(once(ws, 'close'), 5000, 'close');
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'bye x');
    assert.deepEqual(await withTimeout(serverSaw, 5000, "the server's close"), [4001, 'bye x']);
    // And from the client's side.
    let server2Closed;
    const server2Saw = new Promise((resolve) => { server2Closed = resolve; });
    wssList[0].removeAllListeners('connection');
    wssList[0].on('connection', (w) => w.on('close', (c, r) => server2Closed([c, r.toString()])));
    const ws2 = await open(port);
    ws2.close(4002, 'client bye');
    const [code2] = await withTimeout(once(ws2, 'close'), 5000, 'close');
    assert.equal(code2, 4002);
    assert.deepEqual(await withTimeout(server2Saw, 5000, "the server's close"), [4002, 'client bye']);
  });

  it('echoes a 1 MiB message', async () => {
    const { port } = await start();
    const ws = await open(port);
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i * 7;
    ws.send(big);
    const m = await nextMessage(ws);
    assert.equal(m.data.length, big.length);
    assert.ok(m.data.equals(big));
    ws.close();
  });

  it('serves 1,000 clients at once', async function () {
    this.timeout(60000);
    const { port } = await start();
    const n = 1000;
    const clients = [];
    for (let i = 0; i < n; i += 100) {
      const batch = [];
      for (let j = i; j < i + 100; j++) batch.push(open(port, `/${j}`));
      clients.push(...await Promise.all(batch));
    }
    const answers = await Promise.all(clients.map(async (ws, i) => {
      const got = nextMessage(ws);
      ws.send(`n${i}`);
      return (await got).data.toString();
    }));
    assert.deepEqual(answers, clients.map((_, i) => `n${i}`));
    await Promise.all(clients.map((ws) => {
      const closed = once(ws, 'close');
      ws.close();
      return closed;
    }));
  });

  // ws's own test ("doesn't emit the 'connection' event if socket is closed
  // prematurely"): a client that half-closes while an asynchronous
  // verifyClient runs is dropped, ws seeing socket.readable false.
  it('drops a client that half-closes during an asynchronous verifyClient', async () => {
    const wss = new WebSocketServer({
      noServer: true,
      verifyClient: ({ req }, cb) => req.socket.once('end', () => cb(true)),
    });
    wssList.push(wss);
    let connections = 0;
    wss.on('connection', () => { connections++; });
    const { server, port } = await startServer(() => {});
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    const socket = net.connect({ port, host: HOST, allowHalfOpen: true });
    let received = '';
    socket.on('data', (d) => { received += d; });
    socket.end('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await withTimeout(once(socket, 'close'), 5000, "the server's close");
    assert.equal(received, '');
    assert.equal(connections, 0);
  });

  // ws's own test ("does not re-emit `net.Socket` errors"): the server
  // resets a WebSocket's connection; the client's socket errs.
  it("resets a WebSocket's connection with resetAndDestroy()", async () => {
    let serverSide;
    const { port } = await start((ws) => { serverSide = ws; });
    const ws = await open(port);
    while (serverSide === undefined) await new Promise((resolve) => setImmediate(resolve));
    const errored = withTimeout(once(ws._socket, 'error'), 5000, "the client socket's error");
    serverSide._socket.resetAndDestroy();
    const [err] = await errored;
    assert.equal(err.code, 'ECONNRESET');
    const [code] = await withTimeout(once(ws, 'close'), 5000, 'close');
    assert.equal(code, 1006);
  });

  it('still serves plain HTTP next to WebSockets', async () => {
    const { port } = await start();
    const ws = await open(port);
    const res = await fetch(`http://${HOST}:${port}/`);
    assert.equal(await res.text(), 'http');
    ws.terminate();
  });
});

// socket.io's websocket transport on the ws package (its default), and on
// node-uring's WebSocketServer (wsEngine: frames on the ring thread).
for (const [engine, wsEngine] of [['ws', undefined], ["node-uring's WebSocketServer", UringWebSocketServer]]) {
describe(`socket.io (wsEngine: ${engine})`, () => {
  const ios = [];
  const clients = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const io of ios.splice(0)) io.close();
    await cleanup();
  });

  async function start() {
    const { server, port } = await startServer((req, res) => {
      if (!res.headersSent && !res.writableEnded) res.end('other');
    });
    const io = new IoServer(server, wsEngine ? { wsEngine } : {});
    ios.push(io);
    io.on('connection', (socket) => {
      socket.on('join', (room, ack) => {
        socket.join(room);
        ack(`joined ${room}`);
      });
      socket.on('say', (room, text) => io.to(room).emit('said', text));
      socket.on('add', (a, b, ack) => ack(a + b));
      socket.on('echo', (data, ack) => ack(data));
    });
    return port;
  }

  async function client(port, transports) {
    const c = ioClient(`http://${HOST}:${port}`, { transports, forceNew: true, reconnection: false });
    clients.push(c);
    await withTimeout(once(c, 'connect'), 5000, 'connect');
    return c;
  }

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    it(`acknowledges and broadcasts to rooms over ${transports.join(' then ')}`, async () => {
      const port = await start();
      const a = await client(port, transports);
      const b = await client(port, transports);
      const c = await client(port, transports);
      assert.equal(await a.emitWithAck('add', 2, 3), 5);
      assert.equal(await a.emitWithAck('join', 'r1'), 'joined r1');
      assert.equal(await b.emitWithAck('join', 'r1'), 'joined r1');
      let cGot = false;
      c.on('said', () => { cGot = true; });
      const heard = Promise.all([once(a, 'said'), once(b, 'said')]);
      c.emit('say', 'r1', 'hi room');
      const [[ta], [tb]] = await withTimeout(heard, 5000, 'the room');
      assert.equal(ta, 'hi room');
      assert.equal(tb, 'hi room');
      assert.equal(await c.emitWithAck('add', 1, 1), 2); // after the broadcast
      assert.equal(cGot, false);
    });
  }

  // socket.io's own "should ignore a packet received after disconnection":
  // the event goes to its listener a tick later, and the disconnect right
  // behind it on the wire cancels it, when both are read in one go.
  it('drops an event that a disconnect right behind it cancels', async () => {
    const port = await start();
    const events = [];
    ios.at(-1).on('connection', (socket) => {
      socket.on('late', () => events.push('late'));
      socket.on('disconnect', (reason) => events.push(reason));
    });
    const c = await client(port, ['websocket']);
    c.emit('late', Buffer.alloc(10));
    c.disconnect(); // its frame goes out on the next tick, after the event's
    await new Promise((resolve) => process.nextTick(() => {
      const busyUntil = Date.now() + 50;
      while (Date.now() < busyUntil); // JS busy while the frames arrive
      resolve();
    }));
    await withTimeout((async () => { while (events.length === 0) await delay(5); })(), 5000, 'the disconnect');
    await delay(20);
    assert.deepEqual(events, ['client namespace disconnect']);
  });

  it('upgrades a polling client to websocket', async () => {
    const port = await start();
    const a = await client(port, ['polling', 'websocket']);
    if (a.io.engine.transport.name !== 'websocket') {
      await withTimeout(once(a.io.engine, 'upgrade'), 5000, 'the upgrade');
    }
    assert.equal(a.io.engine.transport.name, 'websocket');
    assert.equal(await a.emitWithAck('add', 20, 22), 42);
  });

  it('carries binary payloads and large messages over websocket', async () => {
    const port = await start();
    const a = await client(port, ['websocket']);
    // On io_uring, node-uring's engine gives the transport its own sockets.
    const [serverSide] = ios.at(-1).of('/').sockets.values();
    const native = serverSide.conn.transport.socket instanceof UringWebSocket;
    assert.equal(native, wsEngine !== undefined && BACKEND !== 'node');
    // socket.io's maxHttpBufferSize is 1e6 bytes: just under it.
    const text = 'x'.repeat(900000);
    assert.equal(await a.emitWithAck('echo', text), text);
    const bytes = Buffer.alloc(900000, 7);
    const echoed = await a.emitWithAck('echo', { bytes, n: 1 });
    assert.equal(echoed.n, 1);
    assert.ok(Buffer.from(echoed.bytes).equals(bytes));
  });
});
}

'use strict';

// HTTP Upgrade and CONNECT, as node:http: with an 'upgrade' ('connect')
// listener the request and its connection are the listener's, and the
// connection leaves HTTP; without one an Upgrade request is an ordinary
// request, and a CONNECT closes the connection. Raw sockets here; the real
// `ws` and socket.io in test/websocket.test.js.

const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, cleanup, delay, withTimeout, HOST } = require('./helpers');

const UPGRADE = 'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n';

// Upgraded connections keep a server from closing, on node:http too:
// the clients go first.
const clients = new Set();

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST, allowHalfOpen: true }, () => resolve(socket));
    clients.add(socket);
    socket.once('error', reject);
  });
}

// Collects what socket receives; until(re) resolves once it matches.
function reader(socket) {
  let text = '';
  const waiters = [];
  socket.on('data', (d) => {
    text += d.toString('latin1');
    for (const w of waiters.splice(0)) if (!w.re.test(text)) waiters.push(w); else w.resolve(text);
  });
  const ended = new Promise((resolve) => socket.on('end', () => resolve(text)));
  return {
    get text() { return text; },
    until(re) {
      if (re.test(text)) return Promise.resolve(text);
      return withTimeout(new Promise((resolve) => waiters.push({ re, resolve })), 3000, `${re}`);
    },
    ended: () => withTimeout(ended, 3000, 'the end'),
  };
}

// An 'upgrade' listener that answers 101, then echoes in upper case.
function echoUpgrade(server, seen = {}) {
  server.on('upgrade', (req, socket, head) => {
    seen.req = req;
    seen.head = head;
    seen.socket = socket;
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    if (head.length) socket.write(head.toString().toUpperCase());
    socket.on('data', (d) => socket.write(d.toString().toUpperCase()));
    // As node:http's, an upgraded socket is half-open: its user ends it.
    socket.on('end', () => {
      seen.ended = true;
      socket.end();
    });
    socket.on('close', () => { seen.closed = true; });
  });
  return seen;
}

describe('upgrade and CONNECT', () => {
  afterEach(() => {
    for (const socket of clients) socket.destroy();
    clients.clear();
    return cleanup();
  });

  it("hands an Upgrade request and its connection to 'upgrade'; bytes flow both ways", async () => {
    let requests = 0;
    const { server, port } = await startServer(() => { requests++; });
    const seen = echoUpgrade(server);
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(UPGRADE);
    await r.until(/\r\n\r\n/);
    assert.match(r.text, /^HTTP\/1.1 101 Switching Protocols\r\n/);
    assert.equal(seen.req.url, '/chat');
    assert.equal(seen.req.headers.upgrade, 'echo');
    assert.ok(Buffer.isBuffer(seen.head));
    assert.equal(seen.socket, seen.req.socket); // as node:http's
    socket.write('hello');
    await r.until(/HELLO$/);
    // Not HTTP any more: a request line is only bytes.
    socket.write('GET / HTTP/1.1\r\n\r\n');
    await r.until(/GET \/ HTTP\/1.1\r\n\r\n$/);
    assert.equal(requests, 0);
    socket.end();
    await withTimeout((async () => { while (!seen.closed) await delay(5); })(), 3000, "the upgraded socket's close");
    assert.ok(seen.ended);
  });

  // node:http reads what reached the socket while JS was busy in one go:
  // no nextTick runs between its parts (socket.io counts on it to drop an
  // event that a disconnect right behind it cancels).
  it('hands over what arrived while JS was busy with no tick in between', async () => {
    const { server, port } = await startServer(() => {});
    const parts = [];
    let ticks = 0;
    server.on('upgrade', (req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (d) => {
        parts.push({ text: d.toString(), ticks });
        process.nextTick(() => { ticks++; });
      });
      socket.on('end', () => socket.end());
    });
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(UPGRADE);
    await r.until(/\r\n\r\n/);
    for (const part of ['one', 'two', 'three']) socket.write(part); // three segments
    const busyUntil = Date.now() + 50;
    while (Date.now() < busyUntil); // JS busy while they arrive
    await withTimeout((async () => {
      while (parts.map((p) => p.text).join('') !== 'onetwothree') await delay(5);
    })(), 3000, 'the three parts');
    assert.deepEqual(parts.map((p) => p.ticks), parts.map(() => 0));
  });

  it('passes on the bytes that came with the upgrade request', async () => {
    const { server, port } = await startServer(() => {});
    echoUpgrade(server);
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(`${UPGRADE}early bytes`);
    await r.until(/EARLY BYTES$/);
  });

  it("end() on the upgraded socket half-closes; the client's end closes", async () => {
    const { server, port } = await startServer(() => {});
    const seen = {};
    server.on('upgrade', (req, socket) => {
      seen.socket = socket;
      socket.on('close', () => { seen.closed = true; });
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nbye');
    });
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(UPGRADE);
    assert.match(await r.ended(), /\r\n\r\nbye$/);
    assert.ok(!seen.closed);
    socket.end();
    await withTimeout((async () => { while (!seen.closed) await delay(5); })(), 3000, 'close');
  });

  it('destroy() on the upgraded socket closes the connection', async () => {
    const { server, port } = await startServer(() => {});
    server.on('upgrade', (req, socket) => socket.destroy());
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(UPGRADE);
    await r.ended();
  });

  // ws's WebSocketServer({ port }).close() closes its own server and
  // leaves its clients open, as ws 8 documents: with node:http the 101
  // written just before reaches the client, the socket keeps working, and
  // the server's 'close' waits for it to end.
  for (const how of ['close', 'closeIdleConnections', 'closeAllConnections']) {
    it(`leaves an upgraded connection open through ${how}(), as node:http does`, async () => {
      const { server, port } = await startServer(() => {});
      let closed = false;
      server.on('upgrade', (req, socket) => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
        if (how === 'close') server.close(() => { closed = true; });
        else server[how]();
        socket.on('data', (d) => socket.write(d.toString().toUpperCase()));
        socket.on('end', () => socket.end());
      });
      const socket = await connect(port);
      const r = reader(socket);
      socket.write(UPGRADE);
      await r.until(/\r\n\r\n$/);
      await delay(50);
      socket.write('still here');
      await r.until(/STILL HERE$/);
      assert.equal(closed, false);
      socket.end();
      await r.ended();
      if (how === 'close') await withTimeout((async () => { while (!closed) await delay(5); })(), 3000, "the server's 'close'");
    });
  }

  // As a net.Socket's destroy() lets the kernel send what was written:
  // ws answers a refused handshake with end(answer) and destroy() on
  // 'finish', and the client must get the answer.
  for (const how of ['write() then destroy()', "end() then destroy() on 'finish'"]) {
    it(`sends what was written on the upgraded socket before ${how}`, async () => {
      const { server, port } = await startServer(() => {});
      const answer = `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 9000\r\n\r\n${'x'.repeat(9000)}`;
      server.on('upgrade', (req, socket) => {
        if (how.startsWith('write')) {
          socket.write(answer);
          socket.destroy();
        } else {
          socket.once('finish', socket.destroy);
          socket.end(answer);
        }
      });
      for (let i = 0; i < 20; i++) {
        const socket = await connect(port);
        const r = reader(socket);
        socket.write(UPGRADE);
        assert.equal(await r.ended(), answer);
        socket.destroy();
      }
    });
  }

  // As a net.Socket (node:http's): the FIN ends the readable side at once,
  // whether or not anyone reads, so that code that checks socket.readable
  // before answering (ws after an asynchronous verifyClient) sees it.
  it("ends the upgraded socket at the client's FIN, unread", async () => {
    const { server, port } = await startServer(() => {});
    const seen = {};
    server.on('upgrade', (req, socket) => {
      socket.on('end', () => {
        seen.readable = socket.readable;
        seen.writable = socket.writable;
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      });
    });
    const socket = await connect(port);
    const r = reader(socket);
    socket.end(UPGRADE);
    assert.match(await r.ended(), /^HTTP\/1.1 403 Forbidden\r\n/);
    assert.deepEqual(seen, { readable: false, writable: true });
  });

  it('with bytes after the upgrade request, ends the socket after them, once read', async () => {
    const { server, port } = await startServer(() => {});
    const seen = { text: '', ended: false };
    server.on('upgrade', (req, socket, head) => {
      seen.text += head.toString();
      socket.on('end', () => {
        seen.ended = true;
        socket.end();
      });
      // Read late: the FIN is in by then.
      setTimeout(() => socket.on('data', (d) => { seen.text += d.toString(); }), 200);
    });
    const socket = await connect(port);
    const r = reader(socket);
    socket.end(`${UPGRADE}early bytes`);
    await r.ended();
    assert.deepEqual(seen, { text: 'early bytes', ended: true });
  });

  it('resetAndDestroy() on the upgraded socket resets the connection (the client gets no FIN)', async () => {
    const { server, port } = await startServer(() => {});
    server.on('upgrade', (req, socket) => socket.resetAndDestroy());
    const socket = await connect(port);
    const seen = [];
    socket.on('end', () => seen.push('end'));
    const errored = new Promise((resolve) => socket.on('error', (err) => resolve(err.code)));
    socket.write(UPGRADE);
    assert.equal(await withTimeout(errored, 3000, 'the reset'), 'ECONNRESET');
    assert.deepEqual(seen, []);
  });

  it('keeps an upgraded connection past the keep-alive and headers timeouts', async () => {
    const { server, port } = await startServer(() => {}, { keepAliveTimeout: 100, headersTimeout: 200, requestTimeout: 300 });
    echoUpgrade(server);
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(UPGRADE);
    await r.until(/\r\n\r\n/);
    await delay(1200);
    socket.write('still here');
    await r.until(/STILL HERE$/);
  });

  it('holds back a large upgraded stream the listener does not read, then delivers all of it', async () => {
    const { server, port } = await startServer(() => {});
    let upgraded;
    server.on('upgrade', (req, socket) => {
      upgraded = socket;
      socket.on('end', () => socket.end());
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.pause();
    });
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(UPGRADE);
    await r.until(/\r\n\r\n/);
    const total = 8 << 20;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    const writeAll = async () => {
      while (written < total) {
        written += chunk.length;
        if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
      }
    };
    const done = writeAll();
    await delay(200);
    assert.ok(written < total, 'the server should push back');
    let got = 0;
    upgraded.on('data', (d) => { got += d.length; });
    upgraded.resume();
    await withTimeout(done, 5000, 'all writes');
    await withTimeout((async () => { while (got < total) await delay(5); })(), 5000, 'all bytes');
    assert.equal(got, total);
  });

  it("without an 'upgrade' listener, an Upgrade request is an ordinary request", async () => {
    const { port } = await startServer((req, res) => res.end(`plain ${req.url}`));
    const socket = await connect(port);
    const r = reader(socket);
    socket.write(UPGRADE);
    await r.until(/plain \/chat$/);
    socket.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await r.until(/plain \/next$/);
  });

  it("hands a CONNECT to 'connect'", async () => {
    const { server, port } = await startServer(() => {});
    let url;
    server.on('connect', (req, socket, head) => {
      url = req.url;
      assert.ok(Buffer.isBuffer(head));
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      socket.on('data', (d) => socket.write(d));
      socket.on('end', () => socket.end()); // half-open, as node:http's
    });
    const socket = await connect(port);
    const r = reader(socket);
    socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    await r.until(/\r\n\r\n/);
    socket.write('tunnel');
    await r.until(/tunnel$/);
    assert.equal(url, 'example.com:443');
  });

  // The framing rules hold for a tunnel's request too (issue 17): on the
  // node backend, before node:http hands it to the listener.
  const framings = [
    ['Transfer-Encoding: gzip, chunked\r\n', '0\r\n\r\n', 501],
    ['Transfer-Encoding: \r\nContent-Length: 0\r\n', '', 400],
  ];
  for (const [lines, body, status] of framings) {
    it(`refuses a CONNECT or an Upgrade with ${JSON.stringify(lines)} (${status}) before its listener`, async () => {
      const { server, port } = await startServer(() => {});
      let tunnels = 0;
      server.on('connect', () => { tunnels++; });
      server.on('upgrade', () => { tunnels++; });
      for (const head of [
        `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n${lines}\r\n`,
        `GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n${lines}\r\n${body}`,
      ]) {
        const socket = await connect(port);
        const r = reader(socket);
        socket.on('error', () => {});
        socket.write(head);
        const text = await r.ended();
        assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), head.split('\r\n')[0]);
      }
      assert.equal(tunnels, 0, 'a listener got the tunnel');
    });
  }

  it("closes a CONNECT without a 'connect' listener", async () => {
    let requests = 0;
    const { port } = await startServer(() => { requests++; });
    const socket = await connect(port);
    const r = reader(socket);
    socket.on('error', () => {});
    socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    await r.ended();
    assert.equal(requests, 0);
  });
});

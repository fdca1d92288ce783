'use strict';

// req.socket as node:http gives it: a Duplex shaped like net.Socket, one
// per connection, shared by its requests.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const { Duplex, PassThrough, pipeline } = require('node:stream');
const { startServer, cleanup, request, keepAliveAgent, delay } = require('./helpers');

// The kernel's timer of the server's end of an IPv4 loopback connection,
// from /proc/net/tcp: { kind, seconds }, kind 2 the keepalive timer, 0 none.
function serverTimer(serverPort, clientPort) {
  const hex = (port) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, , , timer] = line.trim().split(/\s+/);
    if (local?.endsWith(hex(serverPort)) && remote.endsWith(hex(clientPort))) {
      const [kind, when] = timer.split(':');
      return { kind: parseInt(kind, 16), seconds: parseInt(when, 16) / 100 };
    }
  }
  return null;
}

// Polls serverTimer() until test(timer) holds, for up to a second.
async function timerBecomes(serverPort, clientPort, test) {
  let timer;
  for (let i = 0; i < 50; i++) {
    timer = serverTimer(serverPort, clientPort);
    if (timer !== null && test(timer)) return timer;
    await delay(20);
  }
  throw new Error(`the server's timer stayed ${JSON.stringify(timer)}`);
}

describe('req.socket', function () {
  afterEach(cleanup);

  it('is a Duplex with the addresses, state and methods of a net.Socket', async function () {
    let seen;
    const { port } = await startServer((req, res) => {
      const s = req.socket;
      seen = {
        duplex: s instanceof Duplex,
        remoteAddress: s.remoteAddress,
        remoteFamily: s.remoteFamily,
        remotePort: typeof s.remotePort,
        localAddress: s.localAddress,
        localPort: s.localPort,
        writable: s.writable,
        readable: s.readable,
        destroyed: s.destroyed,
        httpMessage: s._httpMessage === res,
        chain: [s.setNoDelay(true), s.setKeepAlive(true), s.ref(), s.unref()].every((x) => x === s),
        bytesRead: typeof s.bytesRead,
        bytesWritten: typeof s.bytesWritten,
      };
      res.end('ok');
    });
    const { body } = await request(port);
    assert.equal(body.toString(), 'ok');
    assert.deepEqual(seen, {
      duplex: true,
      remoteAddress: '127.0.0.1',
      remoteFamily: 'IPv4',
      remotePort: 'number',
      localAddress: '127.0.0.1',
      localPort: port,
      writable: true,
      readable: true,
      destroyed: false,
      httpMessage: true,
      chain: true,
      bytesRead: 'number',
      bytesWritten: 'number',
    });
  });

  it('is the same object for the requests of one connection', async function () {
    const sockets = [];
    const { port } = await startServer((req, res) => {
      sockets.push(req.socket);
      res.end('ok');
    });
    const agent = keepAliveAgent();
    await request(port, { agent });
    await request(port, { agent });
    assert.equal(sockets.length, 2);
    assert.equal(sockets[0], sockets[1]);
  });

  it('setKeepAlive(true, ms) sends TCP keepalive probes after ms of silence; setKeepAlive(false) stops them', async function () {
    let clientPort;
    const { port } = await startServer((req, res) => {
      clientPort = req.socket.remotePort;
      if (req.url === '/on') req.socket.setKeepAlive(true, 3000);
      else req.socket.setKeepAlive(false);
      res.end('ok');
    });
    const agent = keepAliveAgent();
    await request(port, { agent, path: '/on' });
    const on = await timerBecomes(port, clientPort, (t) => t.kind === 2);
    assert.ok(on.seconds > 1 && on.seconds <= 3, `the first probe is due in ${on.seconds} s`);
    await request(port, { agent, path: '/off' });
    await timerBecomes(port, clientPort, (t) => t.kind === 0);
  });

  it('setNoDelay() and setKeepAlive() after the connection is gone do nothing', async function () {
    let socket;
    const { port } = await startServer((req, res) => {
      socket = req.socket;
      res.end('ok');
    });
    await request(port);
    while (!socket.destroyed) await delay(5);
    assert.equal(socket.setNoDelay(false), socket);
    assert.equal(socket.setKeepAlive(true, 1000), socket);
  });

  it("destroy(err) emits 'error' with err, then 'close', and the client sees the connection go", async function () {
    const events = [];
    let closed;
    const done = new Promise((resolve) => (closed = resolve));
    const { port } = await startServer((req, res) => {
      const s = req.socket;
      s.on('error', (err) => events.push(`error ${err.message}`));
      s.on('close', () => {
        events.push(`close ${s.destroyed}`);
        closed();
      });
      s.destroy(new Error('boom'));
    });
    await assert.rejects(request(port), { code: 'ECONNRESET' });
    await done;
    assert.deepEqual(events, ['error boom', 'close true']);
  });

  // As a net.Socket's, at the next tick: before the ring thread confirms
  // the close, and so before the callback of a stream.pipeline() that
  // destroyed the response with its source's error. Koa reports such an
  // error once, from whichever of the two comes first (on-finished hears
  // the socket's 'error'): app.once('error') saw it twice, and threw.
  it("destroy(err) emits 'error' at the next tick, before a pipeline's callback", async function () {
    const events = [];
    let finished;
    const done = new Promise((resolve) => (finished = resolve));
    const { port } = await startServer((req, res) => {
      res.writeHead(200, { 'Content-Length': '20' });
      res.flushHeaders();
      const source = new PassThrough();
      req.socket.on('error', (err) => events.push(`socket error ${err.message}`));
      pipeline(source, res, (err) => {
        events.push(`pipeline ${err.message}`);
        finished();
      });
      setTimeout(() => source.destroy(new Error('boom')), 10);
    });
    await assert.rejects(request(port));
    await done;
    assert.deepEqual(events, ['socket error boom', 'pipeline boom']);
  });

  it("setTimeout(ms) emits 'timeout' after ms without traffic, on the socket and its response", async function () {
    let timedOut;
    const done = new Promise((resolve) => (timedOut = resolve));
    let heard = false;
    const { port } = await startServer((req, res) => {
      const started = Date.now();
      req.socket.setTimeout(100, () => (heard = true));
      res.on('timeout', () => {
        res.end(String(Date.now() - started >= 90));
        timedOut();
      });
    });
    const { body } = await request(port);
    await done;
    assert.equal(body.toString(), 'true');
    assert.ok(heard);
  });

  it('write() sends bytes of the response at the head of the line', async function () {
    const { port } = await startServer((req, res) => {
      req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n', 'latin1');
      req.socket.write(Buffer.from('he'));
      req.socket.end('llo');
    });
    const client = new net.Socket();
    const chunks = [];
    await new Promise((resolve, reject) => {
      client.connect(port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      client.on('data', (d) => chunks.push(d));
      client.on('end', resolve);
      client.on('error', reject);
    });
    client.destroy();
    const text = Buffer.concat(chunks).toString('latin1');
    assert.equal(text, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
  });

  // What a raw client gets from requests written one after the other on
  // one connection, until the server's FIN (or 3 s).
  async function exchange(port, paths) {
    const client = net.connect(port, '127.0.0.1');
    const chunks = [];
    client.on('data', (d) => chunks.push(d));
    const ended = new Promise((resolve) => client.on('end', () => resolve(true)));
    for (const path of paths) {
      client.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const fin = await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 3000, false))]);
    client.destroy();
    return { fin, text: Buffer.concat(chunks).toString('latin1') };
  }

  it('end() closes the connection once its responses are sent, on its first request or a later one', async function () {
    const { port } = await startServer((req, res) => {
      res.end(`body of ${req.url}`);
      if (req.url === '/first') res.on('finish', () => req.socket.end());
      if (req.url === '/later') setTimeout(() => req.socket.end(), 20);
    });
    let r = await exchange(port, ['/first']);
    assert.equal(r.fin, true, 'a FIN after the first response');
    assert.match(r.text, /body of \/first$/);
    r = await exchange(port, ['/a', '/b', '/later']);
    assert.equal(r.fin, true, 'a FIN after the third response');
    assert.equal(r.text.match(/HTTP\/1\.1 200/g).length, 3);
    assert.match(r.text, /body of \/later$/);
  });

  it('end() with a response half written sends what it wrote, then closes', async function () {
    const { port } = await startServer((req, res) => {
      if (req.url !== '/half') return res.end('whole');
      res.write('partial');
      setTimeout(() => {
        req.socket.end();
        res.write('never'); // after the end: not sent
      }, 20);
    });
    const r = await exchange(port, ['/', '/half']);
    assert.equal(r.fin, true);
    assert.match(r.text, /\r\n\r\nwhole/);
    assert.match(r.text, /partial\r\n$/);
    assert.doesNotMatch(r.text, /never/);
  });
});

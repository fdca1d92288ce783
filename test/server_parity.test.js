'use strict';

// The server surface node:http users and harnesses rely on (issue 13), on
// both backends: address() at listen(), _handle, 'connection',
// closeIdleConnections(), Symbol.asyncDispose, 'clientError', a closed
// server that lets the process exit, and 'listening' reaching a cluster's
// primary.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const {
  HOST, BACKEND, createServer, startServer, trackServer, listening, cleanup,
  RawClient, rawRequest, delay, skipOnNodeBackend,
} = require('./helpers');

const PKG = path.join(__dirname, '..');

// Runs a script with node; resolves { code, stdout, stderr } or rejects
// when it has not exited within ms.
function runNode(args, ms, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not exit within ${ms} ms:\n${stdout}\n${stderr}`));
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// A port that was free a moment ago.
async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, HOST, resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('server parity with node:http', () => {
  afterEach(cleanup);

  // node:http binds at once when given no host name to look up (with one,
  // even an IP literal, net.Server resolves it first).
  it('sets address() and listening as listen(0) returns, as node:http does', async () => {
    const server = trackServer(createServer((req, res) => res.end('ok')));
    server.listen(0);
    assert.equal(server.listening, true);
    const addr = server.address();
    assert.ok(addr && addr.port > 0, `address() right after listen(0): ${JSON.stringify(addr)}`);
    assert.equal(addr.address, '::');
    assert.equal(addr.family, 'IPv6');
    await new Promise((resolve) => server.once('listening', resolve));
    assert.deepEqual(server.address(), addr);
  });

  it('has a _handle while listening and none once closed (what supertest closes by)', async () => {
    const server = createServer((req, res) => res.end('ok'));
    assert.equal(server._handle, null);
    server.listen(0);
    assert.ok(server._handle, '_handle right after listen()');
    await new Promise((resolve) => server.once('listening', resolve));
    assert.ok(server._handle);
    // supertest's end() before 7.2: `if (server && server._handle) return server.close(cb)`.
    const closed = new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    assert.equal(server._handle, null, 'none from close() on, as net.Server');
    await closed;
    assert.equal(server._handle, null);
  });

  it("emits 'connection' with the socket, once per connection", async () => {
    const sockets = [];
    const { server, port } = await startServer((req, res) => res.end(String(req.socket === sockets[0])));
    server.on('connection', (socket) => sockets.push(socket));
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const [a, b] = await client.readResponses(2);
    assert.equal(a.body.toString(), 'true');
    assert.equal(b.body.toString(), 'true');
    assert.equal(sockets.length, 1);
    assert.equal(typeof sockets[0].remotePort, 'number');
    client.destroy();
  });

  // As node:http takes one (ws's tests hand plain HTTP on from a proxy
  // that sniffs TLS; httpolyglot does the same): a socket the server did
  // not accept, handed over with emit('connection'), is served, upgrades
  // included, by the server's listeners.
  it("serves a socket handed to it with emit('connection'), upgrades included", async () => {
    const { server } = await startServer((req, res) => res.end(`handed ${req.url}`));
    server.on('upgrade', (req, socket) => socket.end(`HTTP/1.1 101 Switching Protocols\r\n\r\nup ${req.url}`));
    const proxy = net.createServer((socket) => server.emit('connection', socket));
    await new Promise((resolve) => proxy.listen(0, HOST, resolve));
    try {
      const port = proxy.address().port;
      const client = await RawClient.connect(port);
      client.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
      const [res] = await client.readResponses(1);
      assert.equal(res.statusCode, 200);
      assert.equal(res.body.toString(), 'handed /a');
      client.destroy();
      const upgraded = net.connect(port, HOST);
      upgraded.end('GET /b HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n');
      let text = '';
      upgraded.on('data', (d) => { text += d; });
      await once(upgraded, 'close');
      assert.equal(text, 'HTTP/1.1 101 Switching Protocols\r\n\r\nup /b');
    } finally {
      proxy.close();
    }
  });

  it('closeIdleConnections() closes idle keep-alive connections, not busy ones', async () => {
    let release;
    const { server, port } = await startServer((req, res) => {
      if (req.url === '/slow') release = () => res.end('slow');
      else res.end('fast');
    });
    const idle = await RawClient.connect(port);
    idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.readResponse();
    const busy = await RawClient.connect(port);
    busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    while (release === undefined) await delay(5);
    server.closeIdleConnections();
    assert.equal(await idle.closedWithin(2000), true, 'the idle connection closed');
    assert.equal(await busy.closedWithin(200), false, 'the busy connection stays');
    release();
    const res = await busy.readResponse();
    assert.equal(res.body.toString(), 'slow');
    assert.equal(server.listening, true);
    busy.destroy();
  });

  // Fastify's close() with forceCloseConnections: 'idle' calls it while
  // responses may still be going out.
  it('closeIdleConnections() lets a response just ended go out whole', async () => {
    const body = 'x'.repeat(4 * 1024 * 1024);
    let server;
    ({ server } = await startServer((req, res) => {
      res.end(body);
      server.closeIdleConnections();
    }));
    const client = await RawClient.connect(server.address().port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse({ timeoutMs: 5000 });
    assert.equal(res.body.length, body.length);
    assert.equal(await client.closedWithin(200), false, 'it was not idle when asked');
  });

  // Called after the handler (Fastify's close() from an async handler,
  // after reply.send()), node:http's closeIdleConnections() destroys a
  // connection whose response has ended, flushed or not; node-uring lets
  // the response out whole first. The handler's own connection, while it
  // runs, is busy to node:http's parser (the test above).
  it('closeIdleConnections() after the handler closes a connection whose response ended, once it is out', async function () {
    skipOnNodeBackend(this, 'node:http cuts the response short');
    const body = 'x'.repeat(4 * 1024 * 1024);
    let server;
    ({ server } = await startServer((req, res) => {
      res.end(body);
      setImmediate(() => server.closeIdleConnections());
    }));
    const client = await RawClient.connect(server.address().port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse({ timeoutMs: 5000 });
    assert.equal(res.body.length, body.length);
    assert.equal(await client.closedWithin(2000), true, 'the connection stayed open');
  });

  // Fastify counts the calls of its override.
  it('close() calls closeIdleConnections() through the instance, once', async () => {
    const { server } = await startServer((req, res) => res.end());
    let calls = 0;
    const own = server.closeIdleConnections;
    server.closeIdleConnections = function closeIdleConnections() {
      calls++;
      return own.call(this);
    };
    await new Promise((resolve) => server.close(resolve));
    assert.equal(calls, 1);
  });

  // ws's suite sets it to see its 'Invalid Upgrade header' refusal.
  it('takes only server.maxHeadersCount headers into req.headers, as node:http does', async () => {
    const seen = [];
    const { server, port } = await startServer((req, res) => {
      seen.push(Object.keys(req.headers).length);
      res.end();
    });
    const many = Array.from({ length: 1100 }, (_, i) => `x-h${i}: v\r\n`).join('');
    const get = () => rawRequest(port, `GET / HTTP/1.1\r\nHost: a\r\n${many}Connection: close\r\n\r\n`);
    await get();
    server.maxHeadersCount = 2;
    await get();
    server.maxHeadersCount = 0;
    await get();
    // Read at listen() on the node backend: only the default there.
    assert.deepEqual(BACKEND === 'node' ? seen.slice(0, 1) : seen, BACKEND === 'node' ? [1000] : [1000, 2, 1102]);
  });

  it('closes on Symbol.asyncDispose', async () => {
    const server = createServer((req, res) => res.end('ok'));
    await server[Symbol.asyncDispose](); // not listening: nothing to do
    await listening(server, 0, HOST);
    let closed = false;
    server.on('close', () => { closed = true; });
    await server[Symbol.asyncDispose]();
    assert.equal(closed, true);
    assert.equal(server.listening, false);
  });

  // (test/client_error.test.js has the rest.)
  it("answers 400 without a 'clientError' listener, and lets a listener answer instead", async () => {
    const { server, port } = await startServer((req, res) => res.end('ok'));
    const bad = 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n';
    let client = await RawClient.connect(port);
    client.write(bad);
    const res = await client.readResponse();
    assert.equal(res.statusCode, 400);
    client.destroy();
    const seen = [];
    server.on('clientError', (err, socket) => {
      seen.push(err.code);
      socket.end('HTTP/1.1 418 I\'m a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    client = await RawClient.connect(port);
    client.write(bad);
    const mine = await client.readResponse();
    assert.equal(mine.statusCode, 418);
    assert.match(seen[0], /^HPE_/);
    client.destroy();
  });

  it('lets the process exit once closed, after serving a request', async () => {
    const script = `
      const { createServer } = require('.');
      const http = require('node:http');
      const server = createServer(${JSON.stringify({ backend: BACKEND ?? 'auto' })}, (req, res) => res.end('ok'));
      server.listen(0, '127.0.0.1', () => {
        http.get({ host: '127.0.0.1', port: server.address().port, agent: new http.Agent({ keepAlive: true }) }, (res) => {
          res.resume();
          res.on('end', () => { if (server._handle) server.close(() => console.log('closed')); });
        });
      });`;
    const { code, stdout } = await runNode(['-e', script], 8000);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), 'closed');
  });

  // Fastify's listen tests unref() the server, then close it in an after
  // hook: on node:http the close still calls back.
  it('calls back close() of an unref()ed server before the process exits', async () => {
    const script = `
      const { createServer } = require('.');
      const server = createServer(${JSON.stringify({ backend: BACKEND ?? 'auto' })}, (req, res) => res.end('ok'));
      server.listen(0, '127.0.0.1', () => {
        server.unref();
        server.close(() => console.log('closed'));
      });`;
    const { code, stdout } = await runNode(['-e', script], 8000);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), 'closed');
  });

  it('is started and closed by supertest, and the test process then exits by itself', async () => {
    const script = `
      const request = require('supertest');
      const { createServer } = require('.');
      const server = createServer(${JSON.stringify({ backend: BACKEND ?? 'auto' })}, (req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ url: req.url }));
      });
      (async () => {
        await request(server).get('/a').expect(200, { url: '/a' });
        await request(server).post('/b').send('x').expect(200, { url: '/b' });
        console.log(server.listening ? 'still listening' : 'closed');
      })().catch((err) => { console.error(err); process.exitCode = 1; });`;
    const { code, stdout, stderr } = await runNode(['-e', script], 8000);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), 'closed');
  });

  // Without reusePort: in a cluster worker the ring backend sets it, so that
  // workers share the port as net servers do through the primary.
  it("reaches a cluster primary's 'listening', with SO_REUSEPORT sockets of its own", async () => {
    const port = await freePort();
    const script = `
      const cluster = require('node:cluster');
      const http = require('node:http');
      if (cluster.isPrimary) {
        const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 4000);
        const seen = new Set();
        cluster.on('listening', (worker, address) => {
          seen.add(worker.id);
          if (seen.size < 2) return;
          clearTimeout(timer);
          // Both workers serve the port they announced.
          http.get({ host: '127.0.0.1', port: address.port, agent: false }, (res) => {
            let body = '';
            res.on('data', (c) => { body += c; });
            res.on('end', () => {
              console.log(JSON.stringify({ port: address.port, body, state: worker.state }));
              for (const w of Object.values(cluster.workers)) w.kill();
            });
          });
        });
        cluster.fork();
        cluster.fork();
      } else {
        const { createServer } = require('.');
        createServer(${JSON.stringify({ backend: BACKEND ?? 'auto' })},
          (req, res) => res.end('worker ' + cluster.worker.id))
          .listen(${port}, '127.0.0.1');
      }`;
    // cluster.fork() runs the primary's script file again: -e would not do.
    const file = path.join(os.tmpdir(), `node-uring-cluster-${process.pid}.js`);
    fs.writeFileSync(file, script.replace("require('.')", `require(${JSON.stringify(PKG)})`));
    let result;
    try {
      result = await runNode([file], 10000);
    } finally {
      fs.rmSync(file, { force: true });
    }
    const { code, stdout, stderr } = result;
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    const out = JSON.parse(stdout.trim());
    assert.ok(out.port > 0);
    assert.match(out.body, /^worker [12]$/);
    assert.equal(out.state, 'listening');
  });

  describe('Expect', () => {
    const ask = (port, expect, version = '1.1') => rawRequest(port,
      `GET / HTTP/${version}\r\nHost: x\r\nExpect: ${expect}\r\n\r\n`);

    it('answers an expectation other than 100-continue with 417, as node:http', async () => {
      let requests = 0;
      const { port } = await startServer((req, res) => { requests++; res.end('ok'); });
      const { client, responses: [res] } = await ask(port, 'the-moon');
      assert.equal(res.statusCode, 417);
      // node:http frames its empty body as chunked, the ring backend with
      // Content-Length: 0: the same empty body either way.
      assert.equal(res.body.length, 0);
      assert.equal(requests, 0);
      // The connection carries on.
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await client.readResponse()).body.toString(), 'ok');
      client.destroy();
    });

    it("emits 'checkExpectation' with (req, res) instead, when listened to", async () => {
      const { server, port } = await startServer((req, res) => res.end('request'));
      server.on('checkExpectation', (req, res) => res.end(`expectation ${req.headers.expect}`));
      const { client, responses: [res] } = await ask(port, 'the-moon');
      assert.equal(res.statusCode, 200);
      assert.equal(res.body.toString(), 'expectation the-moon');
      client.destroy();
    });

    it('reads 100-continue as node:http does: a token, any case; HTTP/1.0 ignores Expect', async () => {
      const { port } = await startServer((req, res) => res.end('request'));
      for (const expect of ['100-Continue', 'foo, 100-continue', '100-continue;q=1']) {
        const { client, responses } = await ask(port, expect);
        assert.deepEqual(responses.map((r) => r.statusCode), [100], expect);
        assert.equal((await client.readResponse()).body.toString(), 'request', expect);
        client.destroy();
      }
      const { client, responses: [res] } = await ask(port, 'the-moon', '1.0');
      assert.equal(res.statusCode, 200);
      client.destroy();
    });
  });
});

'use strict';

// Server lifecycle: listen, address(), close, re-listen, EADDRINUSE, closing
// with requests in flight, and a process that exits once its server closed.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const {
  HOST, createServer, serverOptions, startServer, closeServer, trackServer, listening, cleanup,
  request, RawClient, delay, threadsNamed, skipOnNodeBackend,
} = require('./helpers');

const PKG = path.join(__dirname, '..');

// A port that was free a moment ago.
async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, HOST, resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// Resolves the 'error' a listen() emits; rejects if it listens instead.
function listenError(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', resolve);
    server.once('listening', () => {
      trackServer(server);
      reject(new Error(`listened on busy port ${port}`));
    });
    server.listen(port, HOST);
  });
}

function assertAddrInUse(err, port) {
  assert.ok(err instanceof Error, 'not an Error');
  assert.equal(err.code, 'EADDRINUSE');
  assert.equal(err.errno, -os.constants.errno.EADDRINUSE);
  assert.equal(err.syscall, 'listen');
  assert.equal(err.port, port);
  assert.match(err.message, /EADDRINUSE/);
}

// Runs a script in a child node; resolves { child, lines } where lines is an
// async iterator over its stdout lines.
function runChild(script) {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const firstLine = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('exit', () => reject(new Error(`child exited before printing; stderr: ${stderr}`)));
  });
  return { child, exited, firstLine, stderr: () => stderr };
}

// Resolves the exit status, or kills the child and rejects after ms.
function exitWithin(run, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${ms} ms; stderr: ${run.stderr()}`));
    }, ms);
    run.exited.then((status) => {
      clearTimeout(timer);
      resolve(status);
    });
  });
}

describe('server lifecycle', () => {
  afterEach(cleanup);

  it('emits listening, calls the listen callback and reports address()', async () => {
    const server = trackServer(createServer((req, res) => res.end()));
    const events = [];
    server.on('listening', () => events.push('listening'));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => {
        events.push('callback');
        resolve();
      });
    });
    const address = server.address();
    assert.equal(address.address, '127.0.0.1');
    assert.equal(address.family, 'IPv4');
    assert.ok(Number.isInteger(address.port) && address.port > 0, `bad port ${address.port}`);
    assert.ok(events.includes('listening') && events.includes('callback'), `events: ${events}`);
  });

  it('emits close and calls the close callback', async () => {
    const { server } = await startServer((req, res) => res.end());
    let closeEvents = 0;
    server.on('close', () => closeEvents++);
    await closeServer(server);
    await delay(10);
    assert.equal(closeEvents, 1);
  });

  // Issue 17: 'close' came with the last batch, a moment before the ring
  // threads had ended. A listener that checks for leftover threads, or a
  // worker that exits on 'close', must find them gone.
  it('emits close only once its ring threads are gone', async function () {
    skipOnNodeBackend(this, 'no ring threads');
    const before = threadsNamed('nu-ring');
    for (let i = 0; i < 20; i++) {
      const { server, port } = await startServer((req, res) => res.end('ok'), { rings: 2 });
      // Open connections give the ring threads something to tear down.
      const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(port)));
      await request(port);
      const left = await new Promise((resolve) => {
        server.once('close', () => resolve(threadsNamed('nu-ring') - before));
        server.close();
        server.closeAllConnections();
      });
      for (const c of clients) c.destroy();
      assert.equal(left, 0, `ring threads still running at 'close' (round ${i})`);
    }
  });

  it('listens again on the same fixed port after close', async () => {
    const port = await freePort();
    const first = trackServer(createServer((req, res) => res.end('first')));
    await listening(first, port, HOST);
    // A server-closed connection leaves a TIME_WAIT socket on the port.
    const { body } = await request(port, { headers: { connection: 'close' } });
    assert.equal(body.toString(), 'first');
    await closeServer(first);

    const second = trackServer(createServer((req, res) => res.end('second')));
    await listening(second, port, HOST);
    assert.equal((await request(port)).body.toString(), 'second');
  });

  it('lets the same Server object listen again after close', async () => {
    const port = await freePort();
    const server = trackServer(createServer((req, res) => res.end('same')));
    await listening(server, port, HOST);
    await closeServer(server);
    trackServer(server);
    await listening(server, port, HOST);
    assert.equal((await request(port)).body.toString(), 'same');
  });

  it('emits EADDRINUSE when a net server holds the port', async () => {
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, HOST, resolve));
    const { port } = holder.address();
    try {
      const err = await listenError(createServer((req, res) => res.end()), port);
      assertAddrInUse(err, port);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('emits EADDRINUSE when another node-uring server holds the port', async () => {
    const { port } = await startServer((req, res) => res.end('holder'));
    const err = await listenError(createServer((req, res) => res.end('intruder')), port);
    assertAddrInUse(err, port);
    // The holder keeps serving.
    assert.equal((await request(port)).body.toString(), 'holder');
  });

  // node:http's close(), which Fastify's 503 while closing relies on: the
  // connection of a response in flight stays as it was, keep-alive, and a
  // request that follows on it is served; it closes once idle past
  // keepAliveTimeout, and then the server emits 'close'.
  it('serves on a connection busy at close() until it is idle past keepAliveTimeout, as node:http', async () => {
    const order = [];
    let arrived;
    const requestArrived = new Promise((resolve) => (arrived = resolve));
    const { server, port } = await startServer((req, res) => {
      res.on('finish', () => order.push(`finish ${req.url}`));
      arrived();
      setTimeout(() => res.end(`late answer to ${req.url}`), 100);
    }, { keepAliveTimeout: 400 });
    server.on('close', () => order.push('close'));
    const client = await RawClient.connect(port);
    client.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await requestArrived;
    const closed = closeServer(server, 5000);

    const first = await client.readResponse();
    assert.equal(first.body.toString(), 'late answer to /first');
    assert.equal(first.headers.connection, 'keep-alive');
    client.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    const second = await client.readResponse();
    assert.equal(second.body.toString(), 'late answer to /second');
    const answered = Date.now();
    await client.waitEnd(3000);
    const idle = Date.now() - answered;
    // node:http waits a second more than keepAliveTimeout, node-uring none.
    assert.ok(idle >= 300, `closed ${idle} ms after the last response`);
    await closed;
    assert.deepEqual(order, ['finish /first', 'finish /second', 'close']);
  });

  it('with drainOnClose, finishes an in-flight response with Connection: close, then emits close', async () => {
    const order = [];
    let arrived;
    const requestArrived = new Promise((resolve) => (arrived = resolve));
    const { server, port } = await startServer((req, res) => {
      res.on('finish', () => order.push('finish'));
      arrived();
      setTimeout(() => res.end('late answer'), 100);
    }, { drainOnClose: true, keepAliveTimeout: 60000 });
    assert.equal(server.drainOnClose, true);
    server.on('close', () => order.push('close'));
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await requestArrived;
    const closed = closeServer(server);

    const res = await client.readResponse();
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.toString(), 'late answer');
    assert.equal(res.headers.connection, 'close');
    await client.waitEnd(2000);
    await closed;
    assert.deepEqual(order, ['finish', 'close']);
  });

  it('takes drainOnClose as a boolean, false by default, and reads it at close()', async () => {
    assert.equal(createServer(() => {}).drainOnClose, false);
    assert.throws(() => createServer({ drainOnClose: 1 }, () => {}), { code: 'ERR_INVALID_ARG_TYPE' });
    let arrived;
    const requestArrived = new Promise((resolve) => (arrived = resolve));
    const { server, port } = await startServer((req, res) => {
      arrived();
      setTimeout(() => res.end('late'), 100);
    }, { keepAliveTimeout: 60000 });
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await requestArrived;
    server.drainOnClose = true;
    const closed = closeServer(server);
    assert.equal((await client.readResponse()).headers.connection, 'close');
    await client.waitEnd(2000);
    await closed;
  });

  it('closes idle keep-alive connections on close()', async () => {
    const { server, port } = await startServer((req, res) => res.end('idle soon'));
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await client.readResponse();
    const started = Date.now();
    await closeServer(server, 1000);
    await client.waitEnd(1000);
    assert.ok(Date.now() - started < 1000);
  });

  it('closes connections whose request head is still arriving on close()', async () => {
    let called = false;
    const { server, port } = await startServer((req, res) => {
      called = true;
      res.end();
    });
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\nX-Half: ');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await closeServer(server, 1000);
    await client.waitEnd(1000);
    assert.ok(Date.now() - started < 1000);
    assert.equal(called, false);
  });

  it('closeAllConnections() cuts connections but keeps listening', async () => {
    let hold;
    const { port } = await startServer((req, res) => {
      if (req.url === '/hold') hold = res;
      else res.end('still here');
    });
    const idle = await RawClient.connect(port);
    idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.readResponse();
    const busy = await RawClient.connect(port);
    busy.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!hold) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = new Promise((resolve) => hold.on('close', resolve));
    hold.socket.server.closeAllConnections();
    await idle.waitEnd(1000);
    await busy.waitEnd(1000);
    await closed;
    const { body } = await request(port);
    assert.equal(body.toString(), 'still here');
  });

  it('closes when close() follows listen() at once', async () => {
    const port = await freePort();
    const server = trackServer(createServer((req, res) => res.end()));
    server.listen(port, HOST);
    await closeServer(server);
    assert.equal(server.listening, false);
    await assert.rejects(RawClient.connect(port), { code: 'ECONNREFUSED' });
  });

  it('refuses new connections after close()', async () => {
    const { server, port } = await startServer((req, res) => res.end());
    await closeServer(server);
    await assert.rejects(RawClient.connect(port), { code: 'ECONNREFUSED' });
  });

  it('releases every fd and thread after close()', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const threads = () => fs.readdirSync('/proc/self/task').length;
    // Serves keep-alive, Connection: close and malformed clients, then closes.
    const exercise = async () => {
      const { server, port } = await startServer((req, res) => res.end('x'));
      const idle = await RawClient.connect(port);
      idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await idle.readResponse();
      for (let i = 0; i < 20; i++) await request(port);
      const bad = await RawClient.connect(port);
      bad.write('BOGUS\r\n\r\n');
      await bad.waitEnd(2000);
      await closeServer(server);
      await idle.waitEnd(2000);
      await delay(50);
    };
    await exercise(); // warm-up: lets node create what it keeps for good
    const before = { fds: fds(), threads: threads() };
    await exercise();
    await exercise();
    assert.deepEqual({ fds: fds(), threads: threads() }, before);
  });

  // With node:http's close(), the connection of the response in flight
  // stays until it has been idle for keepAliveTimeout; drainOnClose closes
  // it once the response is out.
  for (const [options, ms] of [[{ keepAliveTimeout: 300 }, 2300], [{ drainOnClose: true }, 2000]]) {
    it(`lets a process exit by itself once its server closed after one request (${JSON.stringify(options)})`, async function () {
      await exitsAfterOneRequest(serverOptions(options), ms);
    });
  }

  async function exitsAfterOneRequest(options, ms) {
    const run = runChild(`
      const { createServer } = require(${JSON.stringify(PKG)});
      const server = createServer(${JSON.stringify(options)}, (req, res) => {
        res.end('bye');
        server.close();
      });
      server.listen(0, '127.0.0.1', () => console.log(server.address().port));
    `);
    const port = Number(await run.firstLine);
    const client = await RawClient.connect(port);
    // A keep-alive request: the server, not the client, must close it.
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse();
    const answeredAt = Date.now();
    assert.equal(res.body.toString(), 'bye');
    const { code, signal } = await exitWithin(run, ms);
    const elapsed = Date.now() - answeredAt;
    assert.equal(signal, null, `child killed by ${signal}; stderr: ${run.stderr()}`);
    assert.equal(code, 0, `child exit code ${code}; stderr: ${run.stderr()}`);
    assert.ok(elapsed < ms, `child took ${elapsed} ms to exit`);
    await client.waitEnd(500);
  }

  it('lets a process exit by itself after listen() then close()', async function () {
    this.timeout(8000);
    const run = runChild(`
      const { createServer } = require(${JSON.stringify(PKG)});
      const server = createServer(${JSON.stringify(serverOptions())}, (req, res) => res.end());
      server.listen(0, '127.0.0.1', () => {
        console.log('listening');
        server.close();
      });
    `);
    assert.equal(await run.firstLine, 'listening');
    const { code } = await exitWithin(run, 2000);
    assert.equal(code, 0, `child exit code ${code}; stderr: ${run.stderr()}`);
  });
});

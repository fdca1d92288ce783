'use strict';

// createServer({ rings: N }): N ring threads, each with its own listening
// socket on the port (SO_REUSEPORT), all feeding one JS thread. The kernel
// spreads connections over the rings; everything a client or a handler
// sees must be as with one ring. The node:http backend ignores rings, so
// these run on it too, minus what only a ring has.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const uring = require('..');
const {
  HOST, createServer, skipOnNodeBackend, startServer, closeServer, trackServer, listening,
  cleanup, request, RawClient, delay, withTimeout, threadsNamed,
} = require('./helpers');

const packageDir = path.join(__dirname, '..');

const ringThreads = () => threadsNamed('nu-ring');

// Polls check() (which may be async) until it is true: a ring thread is
// joined, and a connection uncounted, a moment after the client saw it end.
async function until(check, what, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

const connections = (server) => new Promise((resolve, reject) => {
  server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
});

// seen: the req.socket.ring values handlers saw, as strings. With enough
// connections every ring has some (the kernel picks a ring from each
// client's address and port); the node:http backend has no rings.
function assertSpread(server, seen, rings) {
  const expected = server.backend === 'node' ? ['undefined'] : [...Array(rings).keys()].map(String);
  assert.deepEqual([...seen].sort(), expected);
}

// Opens n raw connections at once.
const connectAll = (port, n) => Promise.all(Array.from({ length: n }, () => RawClient.connect(port)));

// Runs a script in a child node, with at most `fds` descriptors when
// given; resolves its stdout's JSON lines once it exited cleanly.
async function runChild(script, { fds, ms = 10000 } = {}) {
  const child = fds === undefined
    ? spawn(process.execPath, ['-e', script])
    : spawn('sh', ['-c', `ulimit -n ${fds} && exec "$0" -e "$1"`, process.execPath, script]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const code = await withTimeout(exited, ms, 'the child to exit').finally(() => child.kill('SIGKILL'));
  assert.equal(code, 0, stderr);
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

describe('rings', () => {
  afterEach(cleanup);

  it('validates rings like the other numeric options: an integer from 1 to 64, default 1', () => {
    for (const rings of [0, 65, 1.5, -1, '2', NaN]) {
      assert.throws(() => uring.createServer({ rings }), { code: 'ERR_OUT_OF_RANGE' }, `rings: ${rings}`);
    }
    assert.equal(uring.createServer().rings, 1);
    assert.equal(uring.createServer({ rings: 64 }).rings, 64);
    // As a property, it is checked when listen() reads it.
    const server = createServer(() => {});
    server.rings = 0;
    assert.throws(() => server.listen(0, HOST), { code: 'ERR_OUT_OF_RANGE', message: /server\.rings/ });
    assert.equal(server.listening, false);
  });

  for (const rings of [2, 4]) {
    it(`spreads concurrent connections over ${rings} rings, each answered, all counted`, async () => {
      const { server, port } = await startServer((req, res) => res.end(String(req.socket.ring)), { rings });
      if (server.backend === 'uring') assert.equal(ringThreads(), rings);
      const clients = await connectAll(port, 64);
      const seen = new Set();
      await Promise.all(clients.map(async (client, i) => {
        client.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const res = await client.readResponse();
        assert.equal(res.statusCode, 200);
        seen.add(res.body.toString());
      }));
      assertSpread(server, seen, rings);
      assert.equal(await connections(server), 64);
      for (const client of clients) client.destroy();
      await until(async () => await connections(server) === 0, 'no connection counted');
    });
  }

  it('answers routes and static files from every ring, without the handler', async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'node-uring-rings-'));
    const file = crypto.randomBytes(100 * 1024); // spliced, past 64 KiB
    fs.writeFileSync(path.join(dir, 'f.bin'), file);
    try {
      const server = trackServer(createServer({ rings: 2 }, (req, res) => res.end(String(req.socket.ring))));
      server.route('GET', '/health', { body: 'ok' }).static('/files', dir);
      await listening(server, 0, HOST);
      const { port } = server.address();
      const clients = await connectAll(port, 64);
      const seen = new Set();
      await Promise.all(clients.map(async (client) => {
        client.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /files/f.bin HTTP/1.1\r\nHost: x\r\n\r\n' +
          'GET /which HTTP/1.1\r\nHost: x\r\n\r\n');
        const [health, got, which] = await client.readResponses(3);
        assert.equal(health.body.toString(), 'ok');
        assert.ok(got.body.equals(file));
        seen.add(which.body.toString());
        client.destroy();
      }));
      assertSpread(server, seen, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers pipelined requests in order on connections of every ring, handlers finishing out of order', async () => {
    const { server, port } = await startServer((req, res) => {
      setTimeout(() => res.end(`${req.url} ${req.socket.ring}`), Math.random() * 10);
    }, { rings: 2 });
    const clients = await connectAll(port, 24);
    const seen = new Set();
    await Promise.all(clients.map(async (client, c) => {
      let pipelined = '';
      for (let r = 0; r < 8; r++) pipelined += `GET /c${c}/r${r} HTTP/1.1\r\nHost: x\r\n\r\n`;
      client.write(pipelined);
      const responses = await client.readResponses(8);
      const rings = new Set();
      responses.forEach((res, r) => {
        const [url, ring] = res.body.toString().split(' ');
        assert.equal(url, `/c${c}/r${r}`);
        rings.add(ring);
      });
      assert.equal(rings.size, 1, 'one connection, one ring');
      seen.add([...rings][0]);
    }));
    assertSpread(server, seen, 2);
  });

  it('streams request bodies in and responses out, with backpressure, on every ring', async () => {
    const big = crypto.randomBytes(1 << 20);
    const { server, port } = await startServer(async (req, res) => {
      if (req.method === 'POST') {
        // Echo as it arrives: a chunked response written over many ticks.
        req.on('data', (chunk) => res.write(chunk));
        req.on('end', () => res.end());
        return;
      }
      // 1 MiB in 16 KiB writes, waiting for 'drain' when write() says so.
      res.setHeader('X-Ring', String(req.socket.ring));
      await pipeline(Readable.from((function* () {
        for (let off = 0; off < big.length; off += 16384) yield big.subarray(off, off + 16384);
      })(), { objectMode: false }), res);
    }, { rings: 2 });
    const seen = new Set();
    await Promise.all(Array.from({ length: 16 }, async (_, i) => {
      const body = crypto.randomBytes(100000 + i);
      const echoed = await request(port, { method: 'POST', path: '/echo' }, body);
      assert.equal(echoed.res.headers['transfer-encoding'], 'chunked');
      assert.ok(echoed.body.equals(body), `echo ${i} differs`);
      const got = await request(port, { path: '/big' });
      assert.ok(got.body.equals(big), `big ${i} differs`);
      seen.add(got.res.headers['x-ring']);
    }));
    assertSpread(server, seen, 2);
  });

  it("close() with drainOnClose lets in-flight responses of every ring finish, then emits 'close' once and frees the port", async () => {
    const held = [];
    const { server, port } = await startServer((req, res) => held.push({ req, res }), { rings: 2, drainOnClose: true });
    let closes = 0;
    server.on('close', () => closes++);
    const clients = await connectAll(port, 16);
    for (const client of clients) client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => held.length === 16, 'the requests');
    assertSpread(server, new Set(held.map(({ req }) => String(req.socket.ring))), 2);
    const closed = closeServer(server);
    await delay(50);
    assert.equal(closes, 0);
    for (const { res } of held) res.end('late answer');
    for (const client of clients) {
      assert.equal((await client.readResponse()).body.toString(), 'late answer');
      assert.ok(await client.closedWithin(3000));
    }
    await closed;
    await delay(50);
    assert.equal(closes, 1);
    assert.equal(server.listening, false);
    assert.equal(server.address(), null);
    await until(() => ringThreads() === 0, 'the ring threads to end');
    // No ring kept the port: a socket without SO_REUSEPORT binds it.
    const again = net.createServer();
    await new Promise((resolve, reject) => again.once('error', reject).listen(port, HOST, resolve));
    await new Promise((resolve) => again.close(resolve));
  });

  it('closeAllConnections() closes the connections of every ring and keeps listening', async () => {
    const { server, port } = await startServer((req, res) => res.end(String(req.socket.ring)), { rings: 2 });
    const clients = await connectAll(port, 16);
    const seen = new Set();
    for (const client of clients) {
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      seen.add((await client.readResponse()).body.toString());
    }
    assertSpread(server, seen, 2);
    server.closeAllConnections();
    for (const client of clients) assert.ok(await client.closedWithin(3000), 'a connection stayed open');
    const { res } = await request(port);
    assert.equal(res.statusCode, 200);
  });

  it("maxConnections counts the connections of every ring, dropping those past it with 'drop'", async () => {
    const { server, port } = await startServer((req, res) => res.end('ok'), { rings: 2 });
    server.maxConnections = 4;
    let drops = 0;
    server.on('drop', () => drops++);
    const clients = await connectAll(port, 12);
    const outcomes = await Promise.all(clients.map(async (client) => {
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      return client.readResponse().then((res) => res.statusCode, () => 'dropped');
    }));
    assert.equal(outcomes.filter((o) => o === 200).length, 4, String(outcomes));
    assert.equal(outcomes.filter((o) => o === 'dropped').length, 8);
    assert.equal(drops, 8);
    await until(async () => await connections(server) === 4, '4 connections counted');
  });

  it('shares the port with reusePort servers only: a plain one gets EADDRINUSE, either way round', async () => {
    const { port } = await startServer(() => {}, { rings: 2 });
    const plain = createServer(() => {});
    await assert.rejects(listening(plain, port, HOST), { code: 'EADDRINUSE', port });

    const taken = net.createServer();
    await new Promise((resolve) => taken.listen(0, HOST, resolve));
    const busy = taken.address().port;
    const server = createServer({ rings: 2 }, () => {});
    let errors = 0;
    server.on('error', () => errors++);
    await assert.rejects(listening(server, busy, HOST), { code: 'EADDRINUSE', port: busy });
    await delay(50);
    assert.equal(errors, 1);
    assert.equal(server.listening, false);
    await new Promise((resolve) => taken.close(resolve));
  });

  it('is ignored by the node:http backend, which serves as ever', async () => {
    const server = trackServer(uring.createServer({ rings: 4, backend: 'node' }, (req, res) => {
      res.end(`ring ${req.socket.ring}`);
    }));
    await listening(server, 0, HOST);
    assert.equal(server.backend, 'node');
    assert.equal(server.rings, 4);
    const { body } = await request(server.address().port);
    assert.equal(body.toString(), 'ring undefined');
  });

  describe('uring only', () => {
    before(function () {
      skipOnNodeBackend(this, 'they test ring threads');
    });

    it('a ring that cannot start stops those that did: one error, no close, the port and fds freed', async function () {
      this.timeout(20000);
      // A ring takes 3 descriptors (socket, eventfd, io_uring): with 64
      // allowed, about the 15th fails with EMFILE, in whichever call.
      const [out] = await runChild(`
        const fs = require('node:fs');
        const net = require('node:net');
        const { createServer } = require(${JSON.stringify(packageDir)});
        // Descriptors of the kinds a ring opens (libuv opens others lazily).
        const fds = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
          try { return /socket|eventfd|io_uring/.test(fs.readlinkSync('/proc/self/fd/' + fd)); } catch { return false; }
        }).length;
        const threads = () => fs.readdirSync('/proc/self/task')
          .filter((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('nu-ring')).length;
        const fdsBefore = fds();
        const server = createServer({ rings: 64, backend: 'uring' }, (req, res) => res.end('ok'));
        const out = { errors: [], closes: 0, listenings: 0 };
        server.on('close', () => out.closes++);
        server.on('listening', () => out.listenings++);
        server.on('error', (err) => {
          out.errors.push({ code: err.code, syscall: err.syscall, port: err.port });
          out.listening = server.listening;
          out.address = server.address();
          // The port is free for a socket without SO_REUSEPORT.
          const probe = net.createServer();
          probe.once('error', (e) => { out.rebind = e.code; });
          probe.listen(err.port, '127.0.0.1', () => {
            out.rebind = 'ok';
            probe.close(() => setTimeout(() => {
              out.fdsLeft = fds() - fdsBefore;
              out.threads = threads(); // each joined once its last batch is in
              // Fewer rings, then it listens.
              server.rings = 2;
              server.listen(0, '127.0.0.1', () => {
                out.relisten = server.address().port > 0 && threads() === 2;
                server.close(() => console.log(JSON.stringify(out)));
              });
            }, 200));
          });
        });
        server.listen(0, '127.0.0.1');
      `, { fds: 64 });
      assert.equal(out.errors.length, 1, JSON.stringify(out.errors));
      assert.equal(out.errors[0].code, 'EMFILE');
      assert.ok(out.errors[0].port > 0);
      assert.equal(out.closes, 1); // the close() at the end only
      assert.equal(out.listenings, 1); // the second listen() only
      assert.equal(out.listening, false);
      assert.equal(out.address, null);
      assert.equal(out.threads, 0);
      assert.equal(out.rebind, 'ok');
      assert.ok(out.fdsLeft <= 0, `${out.fdsLeft} descriptors left open`);
      assert.equal(out.relisten, true);
    });

    it('unref() lets the process exit with every ring listening', async () => {
      const lines = await runChild(`
        const { createServer } = require(${JSON.stringify(packageDir)});
        const server = createServer({ rings: 3, backend: 'uring' }, (req, res) => res.end('ok'));
        server.listen(0, '127.0.0.1', () => {
          server.unref();
          console.log(JSON.stringify({ listening: server.listening }));
        });
      `, { ms: 5000 });
      assert.deepEqual(lines, [{ listening: true }]);
    });

    it('numbers the connections of a single ring 0', async () => {
      const { port } = await startServer((req, res) => res.end(String(req.socket.ring)));
      const { body } = await request(port);
      assert.equal(body.toString(), '0');
    });
  });
});

'use strict';

// headersTimeout, requestTimeout and keepAliveTimeout, enforced by the ring
// thread: slow or idle clients cannot hold a connection for ever.

const assert = require('node:assert/strict');
const {
  createServer, startServer, cleanup, RawClient, delay, trackServer, listening, HOST,
} = require('./helpers');

async function timeToClose(client, limitMs) {
  const started = Date.now();
  const rest = await client.waitEnd(limitMs);
  return { elapsed: Date.now() - started, rest: rest.toString('latin1') };
}

describe('timeouts', () => {
  afterEach(cleanup);

  it('closes a keep-alive connection idle past keepAliveTimeout', async () => {
    const { port } = await startServer((req, res) => res.end('ok'), { keepAliveTimeout: 300 });
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(res.headers['keep-alive'], 'timeout=0');
    const { elapsed, rest } = await timeToClose(client, 2000);
    assert.equal(rest, '');
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
  });

  it('advertises the default keep-alive timeout of 5 s and keeps the connection meanwhile', async () => {
    const { port } = await startServer((req, res) => res.end('ok'));
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(res.headers['keep-alive'], 'timeout=5');
    assert.equal(await client.closedWithin(700), false);
  });

  it('keeps idle connections when keepAliveTimeout is 0', async () => {
    const options = { keepAliveTimeout: 0, headersTimeout: 200 };
    const { port } = await startServer((req, res) => res.end('ok'), options);
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(res.headers['keep-alive'], undefined);
    assert.equal(await client.closedWithin(700), false);
  });

  it('answers 408 to a head dripping in past headersTimeout (slowloris)', async () => {
    let called = false;
    const { port } = await startServer(() => {
      called = true;
    }, { headersTimeout: 300 });
    const client = await RawClient.connect(port);
    const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    const drip = (async () => {
      for (const ch of head + 'a'.repeat(40)) {
        if (client.ended) return;
        client.write(ch);
        await delay(20);
      }
    })();
    const { elapsed, rest } = await timeToClose(client, 3000);
    await drip;
    assert.match(rest, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(elapsed >= 250 && elapsed < 2000, `closed after ${elapsed} ms`);
    assert.equal(called, false);
  });

  it('answers 408 to a connection that sends nothing past headersTimeout', async () => {
    const { port } = await startServer((req, res) => res.end(), { headersTimeout: 300 });
    const client = await RawClient.connect(port);
    const { rest } = await timeToClose(client, 3000);
    assert.match(rest, /^HTTP\/1\.1 408 /);
  });

  // node:http times the whole request, head included (Fastify's
  // client-timeout test sets requestTimeout alone).
  it('answers 408 to a head not complete by a requestTimeout shorter than headersTimeout', async () => {
    const { port } = await startServer((req, res) => res.end(), { headersTimeout: 60000, requestTimeout: 300 });
    const client = await RawClient.connect(port);
    client.write('POST / HTTP/1.1\r\nHost: x\r\n');
    const { rest } = await timeToClose(client, 3000);
    assert.match(rest, /^HTTP\/1\.1 408 /);
  });

  it('aborts a request whose body is not complete by requestTimeout', async () => {
    let aborted = false;
    const { port } = await startServer((req) => {
      req.on('aborted', () => (aborted = true));
      req.resume();
    }, { headersTimeout: 200, requestTimeout: 400 });
    const client = await RawClient.connect(port);
    client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    for (let i = 0; i < 100 && !client.ended; i++) {
      client.write('b');
      await delay(30);
    }
    assert.equal(client.ended, true, 'the server kept a dripping body for 3 s');
    await delay(50);
    assert.equal(aborted, true);
  });

  it('does not time out a handler that takes its time', async () => {
    const options = { headersTimeout: 200, requestTimeout: 300, keepAliveTimeout: 300 };
    const { port } = await startServer(async (req, res) => {
      await delay(800);
      res.end('patient');
    }, options);
    const client = await RawClient.connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse({ timeoutMs: 3000 });
    assert.equal(res.body.toString(), 'patient');
  });

  it('rejects out-of-range timeouts with ERR_OUT_OF_RANGE', () => {
    assert.throws(() => createServer({ keepAliveTimeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => createServer({ headersTimeout: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
    const server = createServer(() => {});
    server.requestTimeout = 'soon';
    assert.throws(() => server.listen(0), { code: 'ERR_OUT_OF_RANGE' });
  });

  describe('server.timeout (no traffic on a connection)', () => {
    it('destroys a connection whose handler never responds, when nobody listens', async () => {
      const server = createServer(() => {}); // never responds
      server.setTimeout(300);
      const { port } = await listenOn(server);
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const start = Date.now();
      const rest = await client.waitEnd(3000);
      assert.equal(rest.length, 0);
      assert.ok(Date.now() - start >= 250, `closed after ${Date.now() - start} ms`);
    });

    // As node:http's socketOnTimeout(): only the request, the response or
    // the server keep it (Fastify's onTimeout hook listens to the socket,
    // and its tests wait for the connection to go).
    it("destroys it too when only the socket listens to 'timeout'", async () => {
      let heard = 0;
      const server = createServer((req) => req.socket.on('timeout', () => heard++));
      server.setTimeout(300);
      const { port } = await listenOn(server);
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const rest = await client.waitEnd(3000);
      assert.equal(rest.length, 0);
      assert.equal(heard, 1);
    });

    it("emits 'timeout' with the socket instead, when listened to", async () => {
      const timeouts = [];
      const server = createServer((req, res) => setTimeout(() => res.end('late'), 900));
      server.setTimeout(300, (socket) => timeouts.push(typeof socket.remotePort));
      const { port } = await listenOn(server);
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const res = await client.readResponse({ timeoutMs: 3000 });
      assert.equal(res.body.toString(), 'late'); // the listener let it live
      assert.deepEqual(timeouts, ['number']); // once per quiet spell
    });

    it('starts again with every byte that comes or goes', async () => {
      const server = createServer(async (req, res) => {
        let n = 0;
        for await (const chunk of req) n += chunk.length;
        res.end(String(n));
      });
      server.setTimeout(300);
      const { port } = await listenOn(server);
      const client = await RawClient.connect(port);
      client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n');
      for (let i = 0; i < 6; i++) {
        await delay(150); // 900 ms in all, never 300 without a byte
        client.write('x');
      }
      const res = await client.readResponse();
      assert.equal(res.body.toString(), '6');
    });

    // node:http puts keepAliveTimeout in server.timeout's place once a
    // response went and nothing is owed (Fastify's onTimeout tests count
    // on it): an idle kept-alive connection waits for its next request.
    it('leaves a kept-alive connection between requests to keepAliveTimeout', async () => {
      const timeouts = [];
      const server = createServer((req, res) => res.end('ok'));
      server.keepAliveTimeout = 5000;
      server.setTimeout(300, () => timeouts.push(Date.now()));
      const { port } = await listenOn(server);
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await client.readResponse()).body.toString(), 'ok');
      await delay(1000);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await client.readResponse({ timeoutMs: 3000 })).body.toString(), 'ok');
      assert.deepEqual(timeouts, []);
    });
  });

  // node:http reads them at each use: a server set up after listen()
  // (behind a load balancer, `server.keepAliveTimeout = 65000`) holds its
  // connections to the new values, those already open too.
  describe('set after listen()', () => {
    for (const ringThread of [false, true]) {
      const mode = ringThread ? 'with a ring thread' : 'on the JS thread';

      it(`keepAliveTimeout: advertised and enforced on an open connection (${mode})`, async () => {
        const { server, port } = await startServer((req, res) => res.end('ok'), { ringThread });
        const client = await RawClient.connect(port);
        client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.equal((await client.readResponse()).headers['keep-alive'], 'timeout=5');
        server.keepAliveTimeout = 2000;
        client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.equal((await client.readResponse()).headers['keep-alive'], 'timeout=2');
        server.keepAliveTimeout = 300;
        client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.equal((await client.readResponse()).headers['keep-alive'], 'timeout=0');
        // node:http waits a second more than keepAliveTimeout.
        const { elapsed, rest } = await timeToClose(client, 3000);
        assert.equal(rest, '');
        assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
      });

      it(`headersTimeout: a silent connection gets its 408 (${mode})`, async () => {
        const { server, port } = await startServer((req, res) => res.end(), { ringThread });
        server.headersTimeout = 300;
        server.requestTimeout = 300;
        const client = await RawClient.connect(port);
        const { elapsed, rest } = await timeToClose(client, 3000);
        assert.match(rest, /^HTTP\/1\.1 408 /);
        assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
      });
    }

    it('keepAliveTimeout 0: the connection stays, without a Keep-Alive line', async () => {
      const { server, port } = await startServer((req, res) => res.end('ok'), { keepAliveTimeout: 300 });
      server.keepAliveTimeout = 0;
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await client.readResponse()).headers['keep-alive'], undefined);
      assert.equal(await client.closedWithin(1500), false);
    });

    it("setTimeout(): a handler that never answers gets 'timeout'", async () => {
      const { server, port } = await startServer(() => {});
      const timedOut = new Promise((resolve) => server.setTimeout(300, resolve));
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const socket = await timedOut;
      socket.destroy();
      assert.ok(await client.closedWithin(2000));
    });

    it('maxRequestsPerSocket: advertised and counted', async () => {
      const { server, port } = await startServer((req, res) => res.end('ok'));
      server.maxRequestsPerSocket = 1;
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const [first, second] = await client.readResponses(2);
      assert.deepEqual([first.statusCode, first.headers.connection], [200, 'close']);
      assert.equal(second.statusCode, 503);
      server.maxRequestsPerSocket = 0;
      const other = await RawClient.connect(port);
      other.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await other.readResponse()).headers['keep-alive'], 'timeout=5');
    });

    it('refuses a value out of range with ERR_OUT_OF_RANGE, keeping the one it had', async () => {
      const { server } = await startServer((req, res) => res.end('ok'));
      assert.throws(() => { server.keepAliveTimeout = -1; }, { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => { server.headersTimeout = 'soon'; }, { code: 'ERR_OUT_OF_RANGE' });
      assert.equal(server.keepAliveTimeout, 5000);
      assert.equal(server.headersTimeout, 60000);
    });
  });

  async function listenOn(server) {
    trackServer(server);
    await listening(server, 0, HOST);
    return { port: server.address().port };
  }
});

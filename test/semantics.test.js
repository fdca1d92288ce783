'use strict';

// The req and res objects as node:http users know them: request line,
// headers in and out, status codes, Date, 'finish'.

const assert = require('node:assert/strict');
const { startServer, cleanup, request, rawRequest, withTimeout } = require('./helpers');

// RFC 7231 section 7.1.1.1 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

// Starts a server whose handler hands (req, res) to the test, then ends
// the response unless the test did.
async function capture(respond = (req, res) => res.end('ok')) {
  let seen;
  const { port } = await startServer((req, res) => {
    seen = {
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
    };
    respond(req, res);
  });
  return { port, seen: () => seen };
}

describe('request and response semantics', () => {
  afterEach(cleanup);

  describe('request', () => {
    it('exposes method, url, httpVersion and the peer address', async () => {
      const { port, seen } = await capture();
      const { client } = await rawRequest(port, 'DELETE /a/b?c=d&e HTTP/1.1\r\nHost: x\r\n\r\n');
      const req = seen();
      assert.equal(req.method, 'DELETE');
      assert.equal(req.url, '/a/b?c=d&e');
      assert.equal(req.httpVersion, '1.1');
      assert.equal(req.remoteAddress, '127.0.0.1');
      assert.equal(req.remotePort, client.socket.localPort);

      await rawRequest(port, 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(seen().httpVersion, '1.0');
    });

    it('lower-cases header names, joins duplicates, keeps rawHeaders', async () => {
      const { port, seen } = await capture();
      await rawRequest(
        port,
        'GET / HTTP/1.1\r\n' +
          'Host: example.test\r\n' +
          'X-Custom-Thing: One\r\n' +
          'Accept: text/html\r\n' +
          'ACCEPT: application/json\r\n' +
          'Set-Cookie: a=1\r\n' +
          'set-cookie: b=2\r\n' +
          'X-Spaces:   padded value  \r\n' +
          '\r\n',
      );
      const { headers, rawHeaders } = seen();
      assert.equal(headers.host, 'example.test');
      assert.equal(headers['x-custom-thing'], 'One');
      assert.equal(headers.accept, 'text/html, application/json');
      assert.deepEqual(headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(headers['x-spaces'], 'padded value');
      assert.equal(headers['X-Custom-Thing'], undefined);
      assert.deepEqual(rawHeaders, [
        'Host', 'example.test',
        'X-Custom-Thing', 'One',
        'Accept', 'text/html',
        'ACCEPT', 'application/json',
        'Set-Cookie', 'a=1',
        'set-cookie', 'b=2',
        'X-Spaces', 'padded value',
      ]);
    });

    it('handles a request with no headers at all (HTTP/1.0)', async () => {
      const { port, seen } = await capture();
      const { responses } = await rawRequest(port, 'GET /bare HTTP/1.0\r\n\r\n');
      assert.equal(responses[0].statusCode, 200);
      assert.deepEqual(seen().rawHeaders, []);
      assert.deepEqual({ ...seen().headers }, {});
    });
  });

  describe('response', () => {
    it('sends a Date header in IMF-fixdate format, close to now', async () => {
      const { port } = await capture();
      const { responses } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const date = responses[0].headers.date;
      assert.match(date || '', IMF_FIXDATE);
      assert.ok(Math.abs(Date.parse(date) - Date.now()) < 3000, `Date ${date} is not now`);
    });

    it('defaults to 200 OK with Content-Length for end(body)', async () => {
      let initialStatus;
      const { port } = await capture((req, res) => {
        initialStatus = res.statusCode;
        res.end('héllo');
      });
      const { responses } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const [res] = responses;
      assert.equal(initialStatus, 200);
      assert.equal(res.statusCode, 200);
      assert.equal(res.statusMessage, 'OK');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength('héllo')));
      assert.equal(res.body.toString(), 'héllo');
    });

    it('sends headers set with setHeader, including arrays', async () => {
      let accessors;
      const { port } = await capture((req, res) => {
        res.setHeader('X-Custom', 'value');
        res.setHeader('X-Number', 42);
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.setHeader('X-Removed', 'gone');
        res.removeHeader('x-removed');
        accessors = {
          get: res.getHeader('x-custom'),
          has: res.hasHeader('X-CUSTOM'),
          hasRemoved: res.hasHeader('x-removed'),
          getRemoved: res.getHeader('x-removed'),
        };
        res.end();
      });
      const { responses } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.deepEqual(accessors, { get: 'value', has: true, hasRemoved: false, getRemoved: undefined });
      const { headers, rawHeaders } = responses[0];
      assert.equal(headers['x-custom'], 'value');
      assert.equal(headers['x-number'], '42');
      const cookieLines = rawHeaders.filter((v, i) => i % 2 === 0 && v.toLowerCase() === 'set-cookie');
      assert.equal(cookieLines.length, 2, 'a Set-Cookie array must become two header lines');
      assert.equal(headers['set-cookie'], 'a=1, b=2');
      assert.equal(headers['x-removed'], undefined);
    });

    it('writeHead(404, headers) sets status, default message and headers', async () => {
      const { port } = await capture((req, res) => {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'X-Why': 'missing' });
        res.end('nope');
      });
      const { res, body } = await request(port, { path: '/missing' });
      assert.equal(res.statusCode, 404);
      assert.equal(res.statusMessage, 'Not Found');
      assert.equal(res.headers['content-type'], 'text/plain');
      assert.equal(res.headers['x-why'], 'missing');
      assert.equal(body.toString(), 'nope');
    });

    it('writeHead(status, message, headers) sends the custom message', async () => {
      const { port } = await capture((req, res) => {
        res.writeHead(418, 'Short And Stout', { 'x-teapot': 'yes' });
        res.end();
      });
      const { responses } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(responses[0].rawHead, /^HTTP\/1\.1 418 Short And Stout\r\n/);
      assert.equal(responses[0].headers['x-teapot'], 'yes');
    });

    it('uses statusCode and statusMessage set as properties', async () => {
      const { port } = await capture((req, res) => {
        res.statusCode = 201;
        res.end();
      });
      const { res } = await request(port);
      assert.equal(res.statusCode, 201);
      assert.equal(res.statusMessage, 'Created');
    });

    it('tracks headersSent and writableEnded, and emits finish after end()', async () => {
      const states = [];
      let finished;
      const finishFired = new Promise((resolve) => (finished = resolve));
      const { port } = await capture((req, res) => {
        states.push(['before', res.headersSent, res.writableEnded]);
        res.on('finish', () => {
          states.push(['finish', res.headersSent, res.writableEnded]);
          finished();
        });
        res.write('a');
        states.push(['after write', res.headersSent, res.writableEnded]);
        res.end('b');
        states.push(['after end', res.headersSent, res.writableEnded]);
      });
      const { body } = await request(port);
      assert.equal(body.toString(), 'ab');
      await withTimeout(finishFired, 2000, "res 'finish'");
      assert.deepEqual(states, [
        ['before', false, false],
        ['after write', true, false],
        ['after end', true, true],
        ['finish', true, true],
      ]);
    });

    it("emits each pipelined response's 'finish' and 'close' in order, after end(), even past a listener that throws", async () => {
      const events = [];
      const thrown = [];
      const onUncaught = (err) => thrown.push(err.message);
      // Mocha's own handler would fail the test: only this one listens.
      const mochaHandlers = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.on('uncaughtException', onUncaught);
      try {
        let done;
        const allClosed = new Promise((resolve) => (done = resolve));
        const { port } = await capture((req, res) => {
          const n = req.url.slice(1);
          res.on('finish', () => {
            events.push(`finish ${n}`);
            if (n === '1') throw new Error('from finish 1');
          });
          res.on('close', () => {
            events.push(`close ${n}`);
            if (n === '3') done();
          });
          res.end(n, () => events.push(`callback ${n}`));
          events.push(`ended ${n}`);
        });
        const pipelined = ['/1', '/2', '/3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
        const { client, responses } = await rawRequest(port, pipelined, 3);
        client.destroy();
        assert.deepEqual(responses.map((r) => r.body.toString()), ['1', '2', '3']);
        await withTimeout(allClosed, 2000, "the third response's 'close'");
        assert.deepEqual(thrown, ['from finish 1']);
        // Each response ended before any 'finish' (or in order, where the
        // requests came in separate batches), and all three finished.
        for (const n of ['1', '2', '3']) {
          const at = (e) => events.indexOf(`${e} ${n}`);
          assert.ok(at('ended') >= 0 && at('ended') < at('finish'), events.join(', '));
          if (n !== '1') assert.ok(at('finish') < at('callback') && at('callback') < at('close'), events.join(', '));
        }
        assert.deepEqual(events.filter((e) => e.startsWith('finish')), ['finish 1', 'finish 2', 'finish 3']);
      } finally {
        process.off('uncaughtException', onUncaught);
        for (const h of mochaHandlers) process.on('uncaughtException', h);
      }
    });

    it('rejects header and status text that would split the response', async () => {
      const errors = [];
      const { port } = await capture((req, res) => {
        for (const attempt of [
          () => res.setHeader('X-Evil', 'a\r\nSet-Cookie: b'),
          () => res.setHeader('Bad Name', 'v'),
          () => res.writeHead(200, 'OK\r\nX-Evil: 1'),
        ]) {
          try {
            attempt();
          } catch (err) {
            errors.push(err.code);
          }
        }
        // node:http keeps the status text its writeHead() rejected, and
        // end() would throw again; node-uring never takes it.
        res.statusMessage = undefined;
        res.end('safe');
      });
      const { res, body } = await request(port);
      assert.equal(body.toString(), 'safe');
      assert.equal(res.headers['x-evil'], undefined);
      assert.deepEqual(errors, ['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_INVALID_CHAR']);
    });
  });
});

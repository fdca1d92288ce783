'use strict';

// Request and response bodies: Content-Length and chunked in both
// directions, HEAD, Expect: 100-continue.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const { startServer, cleanup, request, readBody, delay, RawClient, HOST } = require('./helpers');

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// Echoes the request body, and its framing headers in x-echo-* headers.
async function echo(req, res) {
  const body = await readBody(req);
  res.setHeader('x-echo-te', req.headers['transfer-encoding'] || '');
  res.setHeader('x-echo-cl', req.headers['content-length'] || '');
  res.end(body);
}

describe('bodies', () => {
  afterEach(cleanup);

  describe('request bodies', () => {
    let port;
    beforeEach(async () => {
      ({ port } = await startServer(echo));
    });

    it('echoes a small Content-Length body byte-exact', async () => {
      const body = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80, 0x41, 0xc3, 0x28]);
      const { res, body: got } = await request(port, { method: 'POST', headers: { 'content-length': body.length } }, body);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-echo-cl'], String(body.length));
      assert.deepEqual(got, body);
    });

    it('echoes a 1 MiB random body byte-exact', async () => {
      const body = crypto.randomBytes(1 << 20);
      const { res, body: got } = await request(port, { method: 'PUT', headers: { 'content-length': body.length } }, body);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(body.length));
      assert.equal(got.length, body.length);
      assert.equal(sha256(got), sha256(body));
    });

    it('reads an empty Content-Length: 0 body', async () => {
      const { res, body } = await request(port, { method: 'POST', headers: { 'content-length': 0 } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-echo-cl'], '0');
      assert.equal(body.length, 0);
    });

    it('echoes a chunked request body written in several pieces', async () => {
      const pieces = ['first,', 'second,', crypto.randomBytes(3000).toString('hex'), ',last'];
      const got = await new Promise((resolve, reject) => {
        const req = http.request({ host: HOST, port, method: 'POST', path: '/chunked', agent: false }, (res) => {
          readBody(res).then((body) => resolve({ res, body }), reject);
        });
        req.on('error', reject);
        (async () => {
          for (const piece of pieces) {
            req.write(piece);
            await delay(5);
          }
          req.end();
        })();
      });
      assert.equal(got.res.statusCode, 200);
      assert.equal(got.res.headers['x-echo-te'], 'chunked');
      assert.equal(got.body.toString(), pieces.join(''));
    });

    it('decodes a raw chunked body with extensions and odd sizes', async () => {
      const client = await RawClient.connect(port);
      client.write(
        'POST /raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '1\r\na\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n',
      );
      const res = await client.readResponse();
      assert.equal(res.body.toString(), 'a0123456789');
    });

    it('streams the request body to for await', async () => {
      const { port: p } = await startServer(async (req, res) => {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        res.end(`${chunks.every(Buffer.isBuffer)} ${Buffer.concat(chunks)}`);
      });
      const body = 'x'.repeat(100000);
      const { body: got } = await request(p, { method: 'POST', headers: { 'content-length': body.length } }, body);
      assert.equal(got.toString(), `true ${body}`);
    });
  });

  describe('response bodies', () => {
    it('sends a body given to end() with Content-Length', async () => {
      const payload = crypto.randomBytes(1 << 20);
      const { port } = await startServer((req, res) => res.end(payload));
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const res = await client.readResponse();
      assert.equal(res.headers['content-length'], String(payload.length));
      assert.equal(res.chunked, false);
      assert.equal(sha256(res.body), sha256(payload));
    });

    it('sends several res.write() calls as a chunked body', async () => {
      const { port } = await startServer(async (req, res) => {
        res.write('one,');
        res.write(Buffer.from('two,'));
        await delay(10);
        res.write('three');
        res.end();
      });
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const res = await client.readResponse();
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.equal(res.headers['content-length'], undefined);
      assert.equal(res.body.toString(), 'one,two,three');
      // Framing must be exact: the connection still serves a second request.
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await client.readResponse()).body.toString(), 'one,two,three');
    });

    it('streams a large body written in many pieces', async () => {
      const piece = crypto.randomBytes(16 * 1024);
      const { port } = await startServer((req, res) => {
        for (let i = 0; i < 128; i++) res.write(piece);
        res.end();
      });
      const { res, body } = await request(port, { path: '/big' });
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.equal(body.length, 128 * piece.length);
      assert.equal(sha256(body), sha256(Buffer.concat(Array(128).fill(piece))));
    });

    it('answers HEAD with the headers and no body', async () => {
      const { port } = await startServer((req, res) => {
        if (req.url === '/explicit') res.setHeader('content-length', 11);
        res.setHeader('x-method', req.method);
        res.end('hello world');
      });
      const client = await RawClient.connect(port);
      client.write('HEAD /explicit HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = await client.readResponse({ head: true });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['x-method'], 'HEAD');
      assert.equal(head.headers['content-length'], '11');
      await delay(50);
      assert.equal(client.buf.toString(), '', 'body bytes after a HEAD response');

      // No Content-Length set by the handler: still no body.
      client.write('HEAD /implicit HTTP/1.1\r\nHost: x\r\n\r\n');
      await client.readResponse({ head: true });
      await delay(50);
      assert.equal(client.buf.toString(), '', 'body bytes after a HEAD response');

      client.write('GET /explicit HTTP/1.1\r\nHost: x\r\n\r\n');
      const get = await client.readResponse();
      assert.equal(get.headers['x-method'], 'GET');
      assert.equal(get.body.toString(), 'hello world');
    });

    it('answers pipelined HEAD and GET with correct framing', async () => {
      const { port } = await startServer((req, res) => res.end(`body of ${req.method}`));
      const client = await RawClient.connect(port);
      client.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = await client.readResponse({ head: true });
      assert.equal(head.statusCode, 200);
      const get = await client.readResponse();
      assert.equal(get.body.toString(), 'body of GET');
    });
  });

  describe('Expect: 100-continue', () => {
    it('sends 100 Continue before the body, then the final response', async () => {
      const { port } = await startServer(echo);
      const client = await RawClient.connect(port);
      client.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n');
      const interim = await client.readResponse();
      assert.equal(interim.statusCode, 100);
      assert.match(interim.rawHead, /^HTTP\/1\.1 100 Continue\r\n/);
      client.write('hello world');
      const final = await client.readResponse();
      assert.equal(final.statusCode, 200);
      assert.equal(final.body.toString(), 'hello world');
    });

    it('works with node:http clients that wait for 100 Continue', async () => {
      const { port } = await startServer(echo);
      const got = await new Promise((resolve, reject) => {
        const req = http.request({
          host: HOST, port, method: 'POST', agent: false,
          headers: { expect: '100-continue', 'content-length': 4 },
        }, (res) => readBody(res).then((body) => resolve({ res, body }), reject));
        req.on('continue', () => req.end('data'));
        req.on('error', reject);
        req.setTimeout(3000, () => req.destroy(new Error('no 100 Continue')));
      });
      assert.equal(got.res.statusCode, 200);
      assert.equal(got.body.toString(), 'data');
    });
  });
});

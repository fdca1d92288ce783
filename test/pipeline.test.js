'use strict';

// Pipelined requests, all written at once: responses come back in request
// order whatever order the handler answers them in.

const assert = require('node:assert/strict');
const { startServer, cleanup, rawRequest, readBody, delay, RawClient } = require('./helpers');

const get = (path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

describe('pipelining', () => {
  afterEach(cleanup);

  it('answers 3 pipelined requests in order when the handler answers out of order', async () => {
    const delays = { '/a': 50, '/b': 0, '/c': 20 };
    const answered = [];
    const { port } = await startServer((req, res) => {
      setTimeout(() => {
        answered.push(req.url);
        res.end(`url=${req.url}`);
      }, delays[req.url]);
    });
    const { responses } = await rawRequest(port, get('/a') + get('/b') + get('/c'), 3);
    assert.deepEqual(
      responses.map((r) => r.body.toString()),
      ['url=/a', 'url=/b', 'url=/c'],
    );
    assert.ok(responses.every((r) => r.statusCode === 200));
    // The handler really did answer out of order, so order was restored.
    assert.deepEqual(answered, ['/b', '/c', '/a']);
  });

  it('answers 100 pipelined requests in order', async () => {
    const { port } = await startServer((req, res) => {
      // Reply in reverse-ish order: later requests finish first.
      const n = Number(req.url.slice(1));
      setTimeout(() => res.end(`#${n}`), (100 - n) % 7);
    });
    let data = '';
    for (let i = 0; i < 100; i++) data += get(`/${i}`);
    const { responses } = await rawRequest(port, data, 100);
    assert.deepEqual(
      responses.map((r) => r.body.toString()),
      Array.from({ length: 100 }, (_, i) => `#${i}`),
    );
  });

  it('frames pipelined requests with bodies correctly', async () => {
    const { port } = await startServer(async (req, res) => {
      const body = await readBody(req);
      res.end(`${req.method} ${req.url} [${body}]`);
    });
    const data =
      'POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n' +
      get('/three');
    const { responses } = await rawRequest(port, data, 3);
    assert.deepEqual(
      responses.map((r) => r.body.toString()),
      ['POST /one [hello]', 'POST /two [abcde]', 'GET /three []'],
    );
  });

  it('answers requests split across many small writes', async () => {
    const { port } = await startServer((req, res) => res.end(req.url));
    const data = Buffer.from(get('/first') + get('/second'));
    const client = await RawClient.connect(port);
    client.socket.setNoDelay(true);
    for (let i = 0; i < data.length; i += 7) {
      client.write(data.subarray(i, i + 7));
      await delay(1);
    }
    const responses = await client.readResponses(2);
    assert.deepEqual(responses.map((r) => r.body.toString()), ['/first', '/second']);
  });
});

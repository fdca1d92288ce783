'use strict';

// server.route(): fixed responses to GET and HEAD that the ring thread sends
// by itself; the handler never sees those requests.

const assert = require('node:assert/strict');
const {
  createServer, trackServer, listening, cleanup, RawClient, rawRequest, request, HOST,
} = require('./helpers');

describe('routes', () => {
  afterEach(cleanup);

  async function routed(setup, handler = (req, res) => res.end(`handler ${req.url}`)) {
    const calls = [];
    const server = createServer((req, res) => {
      calls.push(req.url);
      handler(req, res);
    });
    setup(server);
    const started = await startServerFrom(server);
    return { ...started, calls };
  }

  // startServer() with an already made server.
  async function startServerFrom(server) {
    trackServer(server);
    await listening(server, 0, HOST);
    return { server, port: server.address().port };
  }

  it('answers a route without calling the handler, with Date and framing', async () => {
    const { port, calls } = await routed((s) => s.route('GET', '/health',
      { headers: { 'Content-Type': 'text/plain' }, body: 'ok\n' }));
    const { res, body } = await request(port, { path: '/health' });
    assert.equal(res.statusCode, 200);
    assert.equal(body.toString(), 'ok\n');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.headers['content-length'], '3');
    assert.ok(!Number.isNaN(Date.parse(res.headers.date)), res.headers.date);
    assert.ok(Math.abs(Date.parse(res.headers.date) - Date.now()) < 5000);
    assert.deepEqual(calls, []);
    const other = await request(port, { path: '/other' });
    assert.equal(other.body.toString(), 'handler /other');
    assert.deepEqual(calls, ['/other']);
  });

  it('ignores the query, answers HEAD without a body, and leaves POST to the handler', async () => {
    const { port, calls } = await routed((s) => s.route('GET', '/r', { status: 201, body: 'made' }));
    const client = await RawClient.connect(port);
    client.write('GET /r?x=1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /r HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz');
    const get = await client.readResponse();
    const head = await client.readResponse({ head: true });
    const post = await client.readResponse();
    assert.deepEqual([get.statusCode, get.body.toString()], [201, 'made']);
    assert.equal(head.statusCode, 201);
    assert.equal(head.headers['content-length'], '4');
    assert.equal(post.body.toString(), 'handler /r');
    assert.deepEqual(calls, ['/r']);
  });

  it('keeps pipelined routed and handled responses in request order', async () => {
    const { port } = await routed((s) => s.route('GET', '/fast', { body: 'fast' }),
      (req, res) => setTimeout(() => res.end(`slow ${req.url}`), 30));
    const { responses } = await rawRequest(port,
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n', 4);
    assert.deepEqual(responses.map((r) => r.body.toString()), ['slow /a', 'fast', 'slow /b', 'fast']);
  });

  it('closes after a routed response when the client asks to', async () => {
    const { port } = await routed((s) => s.route('GET', '/bye', { body: 'bye' }));
    const { client, responses: [res] } = await rawRequest(port,
      'GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(res.headers.connection, 'close');
    assert.ok(await client.closedWithin(3000));
    const keep = await rawRequest(port, 'GET /bye HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(keep.responses[0].headers.connection, 'keep-alive');
  });

  it("serves '*' on every path, first match first", async () => {
    const { port, calls } = await routed((s) => s
      .route('GET', '/special', { body: 'special' })
      .route('GET', '*', { headers: { 'Content-Type': 'text/html' }, body: Buffer.from('<p>any</p>') }));
    assert.equal((await request(port, { path: '/special' })).body.toString(), 'special');
    assert.equal((await request(port, { path: '/x/y?z' })).body.toString(), '<p>any</p>');
    assert.deepEqual(calls, []);
  });

  it('validates routes and refuses them after listen()', async () => {
    const server = createServer(() => {});
    assert.throws(() => server.route('POST', '/x', {}), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => server.route('GET', 'x', {}), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => server.route('GET', '/x?y', {}), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => server.route('GET', '/x', { status: 204 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => server.route('GET', '/x', { headers: { 'Content-Length': '1' } }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => server.route('GET', '/x', { headers: { 'X-A': 'a\r\nb' } }), { code: 'ERR_INVALID_CHAR' });
    assert.throws(() => server.route('GET', '/x', { body: 42 }), { code: 'ERR_INVALID_ARG_TYPE' });
    await startServerFrom(server);
    assert.throws(() => server.route('GET', '/late', {}), { code: 'ERR_SERVER_ALREADY_LISTEN' });
  });
});


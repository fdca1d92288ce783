'use strict';

// Details of node:http's request and response that frameworks lean on
// (issue 13), on both backends, each checked against node:http itself:
// a chunked request's trailers, ERR_HTTP_HEADERS_SENT once writeHead()
// fixed the head, and the head argument of 'upgrade' and 'connect'.

const assert = require('node:assert/strict');
const http = require('node:http');
const {
  HOST, startServer, trackServer, listening, cleanup, RawClient,
} = require('./helpers');

// The handler on node-uring and on node:http: [uringPort, nodePort].
async function onBoth(handler, setup = () => {}) {
  const { server, port } = await startServer(handler);
  setup(server);
  const reference = trackServer(http.createServer(handler));
  setup(reference);
  await listening(reference, 0, HOST);
  return [port, reference.address().port];
}

// What req.trailers and friends hold once the body has ended.
function reportTrailers(req, res) {
  const early = { ...req.trailers };
  req.resume();
  req.on('end', () => res.end(JSON.stringify({
    early,
    trailers: req.trailers, distinct: req.trailersDistinct, raw: req.rawTrailers,
  })));
}

const CHUNKED = 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n';

describe('request and response details, as node:http', function () {
  afterEach(cleanup);

  it('gives a chunked request its trailers: trailers, trailersDistinct, rawTrailers', async function () {
    const ports = await onBoth(reportTrailers);
    const cases = [
      '0\r\nX-Sum: abc\r\nX-Two: 1\r\nx-two: 2\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n',
      '0\r\n\r\n', // none
    ];
    for (const last of cases) {
      const seen = [];
      for (const port of ports) {
        const client = await RawClient.connect(port);
        client.write(CHUNKED + last);
        const res = await client.readResponse();
        seen.push(JSON.parse(res.body));
        client.destroy();
      }
      assert.deepEqual(seen[0], seen[1], `trailers ${JSON.stringify(last)}: node-uring, then node:http`);
    }
    const client = await RawClient.connect(ports[0]);
    client.write(CHUNKED + cases[0]);
    const got = JSON.parse((await client.readResponse()).body);
    assert.deepEqual(got.early, {}, 'none before the end');
    assert.equal(got.trailers['x-sum'], 'abc');
    assert.equal(got.trailers['x-two'], '1, 2');
    assert.deepEqual(got.distinct['x-two'], ['1', '2']);
    assert.deepEqual(got.raw.slice(0, 2), ['X-Sum', 'abc']);
  });

  it('keeps the trailers of each request of a keep-alive connection apart', async function () {
    const [port] = await onBoth(reportTrailers);
    const client = await RawClient.connect(port);
    client.write(`${CHUNKED}0\r\nX-A: 1\r\n\r\n${CHUNKED}0\r\n\r\n`);
    const [first, second] = await client.readResponses(2);
    assert.deepEqual(JSON.parse(first.body).raw, ['X-A', '1']);
    assert.deepEqual(JSON.parse(second.body).raw, []);
  });

  it('throws ERR_HTTP_HEADERS_SENT from setHeader, appendHeader and removeHeader after writeHead', async function () {
    const handler = (req, res) => {
      res.setHeader('x-before', 'yes');
      res.writeHead(200, { 'content-type': 'text/plain' });
      const codes = [];
      for (const call of [() => res.setHeader('x-after', '1'), () => res.appendHeader('x-after', '1'),
        () => res.removeHeader('x-before')]) {
        try {
          call();
          codes.push('none');
        } catch (err) {
          codes.push(`${err.code}: ${err.message}`);
        }
      }
      res.end(JSON.stringify(codes));
    };
    const ports = await onBoth(handler);
    const bodies = [];
    for (const port of ports) {
      const client = await RawClient.connect(port);
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const res = await client.readResponse();
      assert.equal(res.headers['x-before'], 'yes');
      assert.equal(res.headers['x-after'], undefined);
      bodies.push(JSON.parse(res.body));
      client.destroy();
    }
    assert.deepEqual(bodies[0], bodies[1], 'node-uring, then node:http');
    assert.match(bodies[0][0], /^ERR_HTTP_HEADERS_SENT: Cannot set headers after they are sent/);
  });
});

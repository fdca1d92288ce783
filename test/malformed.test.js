'use strict';

// Malformed input: a 400 (or 431) and a closed connection, never a crash, and
// the server keeps serving everyone else.

const assert = require('node:assert/strict');
const { createServer, startServer, cleanup, request, RawClient } = require('./helpers');

const BAD_REQUESTS = {
  'a header line without a colon': 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
  'an unknown method': 'BOGUS / HTTP/1.1\r\nHost: x\r\n\r\n',
  'a garbage request line': 'this is not http\r\n\r\n',
  'binary garbage': Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]),
  'a space before the header colon': 'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
  'a non-numeric Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
  'both Content-Length and chunked': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
};

// Sends data on a new connection; resolves every byte the server sent
// before it closed the connection.
async function sendAndWaitClose(port, data) {
  const client = await RawClient.connect(port);
  client.write(data);
  const raw = await client.waitEnd(2000);
  return raw.toString('latin1');
}

describe('malformed requests', () => {
  let port;
  let handled;
  beforeEach(async () => {
    handled = [];
    ({ port } = await startServer((req, res) => {
      handled.push(req.url);
      res.end(`ok ${req.url}`);
    }));
  });
  afterEach(cleanup);

  for (const [what, data] of Object.entries(BAD_REQUESTS)) {
    it(`answers ${what} with 400 and closes, then serves others`, async () => {
      const raw = await sendAndWaitClose(port, data);
      assert.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.deepEqual(handled, [], 'the handler saw a malformed request');
      const { res, body } = await request(port, { path: '/after' });
      assert.equal(res.statusCode, 200);
      assert.equal(body.toString(), 'ok /after');
    });
  }

  it('answers HTTP/1.1 without Host with 400, and serves it with requireHostHeader: false, as node:http', async () => {
    const noHost = 'GET /nohost HTTP/1.1\r\n\r\n';
    assert.match(await sendAndWaitClose(port, noHost), /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.deepEqual(handled, []);
    const { server, port: lenient } = await startServer((req, res) => res.end(`ok ${req.url} ${req.headers.host}`),
      { requireHostHeader: false });
    assert.equal(server.requireHostHeader, false);
    const client = await RawClient.connect(lenient);
    client.write(noHost);
    const res = await client.readResponse();
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.toString(), 'ok /nohost undefined');
    client.destroy();
    // HTTP/1.0 needs no Host either way.
    const raw = await sendAndWaitClose(port, 'GET /old HTTP/1.0\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.throws(() => createServer({ requireHostHeader: 'no' }, () => {}), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('answers the good request before a malformed one in a pipeline', async () => {
    const client = await RawClient.connect(port);
    client.write('GET /good HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nBroken\r\n\r\n');
    const good = await client.readResponse();
    assert.equal(good.body.toString(), 'ok /good');
    // node:http closes without a 400 when the previous response is already
    // out; a 400 is fine too, anything else is not.
    const rest = (await client.waitEnd(2000)).toString('latin1');
    assert.match(rest, /^(HTTP\/1\.1 400 Bad Request\r\n|$)/);
  });

  it('answers a header block over 16 KiB with 431 and closes', async () => {
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`;
    const raw = await sendAndWaitClose(port, big);
    assert.match(raw, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.deepEqual(handled, []);
  });

  it('closes a connection with an invalid chunk size and keeps serving', async () => {
    const client = await RawClient.connect(port);
    client.write('POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n');
    await client.waitEnd(2000);
    assert.equal((await request(port)).res.statusCode, 200);
  });

  it('survives 50 concurrent malformed connections', async () => {
    const raws = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sendAndWaitClose(port, `GET / HTTP/1.1\r\nHost: x\r\nBad${i}\r\n\r\n`)),
    );
    for (const raw of raws) assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.equal((await request(port)).body.toString(), 'ok /');
  });

  it('survives clients that disconnect mid-request', async () => {
    for (let i = 0; i < 20; i++) {
      const client = await RawClient.connect(port);
      client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part');
      client.destroy();
    }
    assert.equal((await request(port)).body.toString(), 'ok /');
  });
});

'use strict';

// The lines every response head ends with, whoever builds it: a JS
// handler's response (lib/head.js), a route and a static file or its
// error (the ring thread's src/http/head_end.c on io_uring), the server's
// own error responses. On the node backend node:http builds them all;
// either way a client must see the same Date and connection lines.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createServer, listening, cleanup, trackServer, RawClient, HOST } = require('./helpers');
const { keepAliveLines, CLOSE_LINES } = require('../lib/head');

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;

// The Connection line and the Keep-Alive line after it, if any, of a head.
function connectionLines(rawHead) {
  const m = /\r\n(Connection: [^\r]*\r\n(?:Keep-Alive: [^\r]*\r\n)?)/.exec(rawHead);
  return m ? m[1] : undefined;
}

describe('the lines every head ends with', () => {
  let dir;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-head-'));
    fs.writeFileSync(path.join(dir, 'f.txt'), 'file\n');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  afterEach(cleanup);

  async function serve(options) {
    const server = createServer(options, (req, res) => res.end('js'))
      .route('GET', '/route', { body: 'route' })
      .static('/static', dir);
    trackServer(server);
    await listening(server, 0, HOST);
    return server.address().port;
  }

  // What a JS response, a route, a static file and a static error send,
  // kept alive (one connection) and then closed (one each).
  async function heads(port) {
    const targets = ['/js', '/route', '/static/f.txt', '/static/nope'];
    const client = await RawClient.connect(port);
    client.write(targets.map((t) => `GET ${t} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    const kept = await client.readResponses(targets.length);
    client.destroy();
    const closed = [];
    for (const t of targets) {
      const c = await RawClient.connect(port);
      c.write(`GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      closed.push(await c.readResponse());
      c.destroy();
    }
    return { targets, kept, closed };
  }

  for (const [options, lines] of [
    [{}, 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n'],
    [{ keepAliveTimeout: 1999 }, 'Connection: keep-alive\r\nKeep-Alive: timeout=1\r\n'],
    [{ keepAliveTimeout: 999 }, 'Connection: keep-alive\r\nKeep-Alive: timeout=0\r\n'],
    [{ keepAliveTimeout: 0 }, 'Connection: keep-alive\r\n'],
  ]) {
    it(`are the same on every path, with ${JSON.stringify(options)}`, async () => {
      assert.equal(keepAliveLines(options.keepAliveTimeout ?? 5000), lines);
      const { targets, kept, closed } = await heads(await serve(options));
      for (let i = 0; i < targets.length; i++) {
        assert.equal(connectionLines(kept[i].rawHead), lines, targets[i]);
        assert.equal(connectionLines(closed[i].rawHead), CLOSE_LINES, `${targets[i]}, closed`);
        for (const res of [kept[i], closed[i]]) {
          assert.match(res.headers.date, IMF_FIXDATE, targets[i]);
          assert.ok(Math.abs(Date.parse(res.headers.date) - Date.now()) < 5000, res.headers.date);
          assert.equal(res.rawHead.match(/\r\nDate: /g).length, 1, targets[i]);
        }
      }
    });
  }

  // node:http advertises maxRequestsPerSocket; the ring thread's own
  // answers do not count towards it, so they do not advertise it.
  it('advertise maxRequestsPerSocket on a JS response, as node:http does', async () => {
    const port = await serve({ maxRequestsPerSocket: 3 });
    assert.equal(keepAliveLines(5000, 3), 'Connection: keep-alive\r\nKeep-Alive: timeout=5, max=3\r\n');
    const client = await RawClient.connect(port);
    client.write('GET /js HTTP/1.1\r\nHost: x\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(connectionLines(res.rawHead), keepAliveLines(5000, 3));
  });

  it("end the server's error responses as node:http's do: Connection: close, no Date", async () => {
    const port = await serve({ maxHeaderSize: 1024 });
    for (const [data, status] of [
      ['BAD\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
      [`GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(2000)}\r\n\r\n`, 'HTTP/1.1 431 Request Header Fields Too Large'],
    ]) {
      const client = await RawClient.connect(port);
      client.write(data);
      const rest = await client.waitEnd();
      assert.equal(rest.toString('latin1'), `${status}\r\n${CLOSE_LINES}\r\n`);
    }
  });
});

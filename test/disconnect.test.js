'use strict';

// A client that goes away while its request waits for the handler's
// response is noticed at once, as node:http notices it: 'aborted' and
// 'close' on the request, 'close' on the response, and no 'finish'. For
// node:http (measured on Node 20) a FIN after a whole request and a reset
// are the same: the client has gone. A response ended before the FIN is
// read still goes out.

const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, cleanup, delay, withTimeout, HOST, BACKEND } = require('./helpers');

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

// A handler that never answers, and the events its exchanges see.
function watchingHandler(events, seen) {
  return (req, res) => {
    const t0 = Date.now();
    const note = (what) => () => events.push({ what, ms: Date.now() - t0 });
    req.on('aborted', note('req aborted'));
    req.on('close', note('req close'));
    res.on('close', note('res close'));
    res.on('finish', note('res finish'));
    seen();
  };
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST, () => resolve(socket));
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

async function abandon(how, requests = GET, count = 1) {
  const events = [];
  let seen = 0;
  let allSeen;
  const ready = new Promise((resolve) => { allSeen = resolve; });
  const { port } = await startServer(watchingHandler(events, () => {
    if (++seen === count) allSeen();
  }));
  const socket = await connect(port);
  socket.write(requests);
  await withTimeout(ready, 2000, 'the handler never saw the requests');
  if (how === 'fin') socket.end();
  else socket.resetAndDestroy();
  const closed = () => events.filter((e) => e.what === 'res close').length >= seen;
  for (let i = 0; i < 100 && !closed(); i++) await delay(5);
  await delay(20);
  socket.destroy();
  events.seen = seen;
  return events;
}

describe('a client that goes away while its response is pending', () => {
  afterEach(cleanup);

  for (const how of ['fin', 'rst']) {
    it(`gets 'close' on req and res at once, no 'finish' (${how})`, async () => {
      const events = await abandon(how);
      const names = events.map((e) => e.what);
      assert.ok(names.includes('res close'), `events: ${JSON.stringify(events)}`);
      assert.ok(names.includes('req close'), `events: ${JSON.stringify(events)}`);
      assert.ok(!names.includes('res finish'));
      const late = events.find((e) => e.what === 'res close').ms;
      assert.ok(late < 500, `res 'close' came ${late} ms after the request`);
    });
  }

  // node:http hands the handler one pipelined request at a time; this
  // backend all three. Each one the handler saw is aborted.
  it('aborts every pipelined request it was owed (fin)', async () => {
    const count = BACKEND === 'node' ? 1 : 3;
    const events = await abandon('fin', GET + GET + GET, count);
    assert.equal(events.filter((e) => e.what === 'res close').length, count);
    assert.ok(!events.some((e) => e.what === 'res finish'));
  });

  // Past 64 unanswered requests the ring thread stops reading the
  // connection; it still watches it, and hears the client go.
  for (const how of ['fin', 'rst']) {
    it(`hears a client go that it stopped reading, past the pipelining limit (${how})`, async () => {
      const events = await abandon(how, GET.repeat(80), BACKEND === 'node' ? 1 : 64);
      const closes = events.filter((e) => e.what === 'res close').length;
      if (BACKEND === 'node') {
        // node:http runs every handler, but only the response at the head
        // of the line, the one with a socket, hears 'close'.
        assert.ok(closes >= 1);
      } else {
        assert.ok(events.seen < 80, 'the limit should have held some back');
        assert.equal(closes, events.seen);
      }
    });
  }

  it('still gets a response the handler ended before the FIN was read', async () => {
    const { port } = await startServer((req, res) => res.end('hi'));
    const socket = await connect(port);
    let got = '';
    socket.on('data', (d) => { got += d; });
    const ended = new Promise((resolve) => socket.on('end', resolve));
    socket.end(GET);
    await withTimeout(ended, 2000, 'no end');
    assert.match(got, /^HTTP\/1.1 200 OK/);
    assert.match(got, /\r\n\r\nhi$/);
  });

  // node:http reads a FIN in a later turn of the loop than the requests it
  // follows (libuv stops reading at a short read): a response ended from a
  // promise, as Koa ends its responses, or from a setImmediate() still goes
  // out, though requests and FIN came in together.
  for (const defer of ['promise', 'setImmediate']) {
    it(`still gets the responses ended from a ${defer} of the handler, requests and FIN sent at once`, async () => {
      const later = defer === 'promise' ? (f) => Promise.resolve().then(f) : setImmediate;
      const { port } = await startServer((req, res) => later(() => res.end(`hi ${req.url}`)));
      const socket = await connect(port);
      let got = '';
      socket.on('data', (d) => { got += d; });
      const ended = new Promise((resolve) => socket.on('end', resolve));
      socket.end('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
      await withTimeout(ended, 2000, 'no end');
      assert.equal(got.match(/HTTP\/1.1 200 OK/g)?.length, 2, got);
      assert.match(got, /\r\n\r\nhi \/1HTTP/);
      assert.match(got, /\r\n\r\nhi \/2$/);
    });
  }

  // The request of a response ended after its socket was destroyed still
  // closes, as node:http's does (its server dumps requests on 'finish',
  // which such a response never emits).
  it("closes the request of a response ended on a destroyed socket", async () => {
    let closed;
    const reqClosed = new Promise((resolve) => { closed = resolve; });
    const { port } = await startServer((req, res) => {
      req.on('close', closed);
      req.socket.destroy();
      res.end('never sent');
    });
    const socket = await connect(port);
    socket.write(GET);
    await withTimeout(reqClosed, 2000, "the request's close");
  });

  it('answers the ended responses and aborts the others (fin)', async () => {
    const events = [];
    const { port } = await startServer((req, res) => {
      res.on('close', () => events.push(`close ${req.url}`));
      res.on('finish', () => events.push(`finish ${req.url}`));
      if (req.url === '/now') res.end('now');
    });
    const socket = await connect(port);
    let got = '';
    socket.on('data', (d) => { got += d; });
    const ended = new Promise((resolve) => socket.on('end', resolve));
    socket.write('GET /now HTTP/1.1\r\nHost: x\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n');
    await delay(50);
    socket.end();
    await withTimeout(ended, 2000, 'no end');
    assert.equal(got.match(/HTTP\/1.1 200/g).length, 1);
    // The client's end can come a moment before JS hears the close.
    for (let i = 0; i < 100 && !events.includes('close /never'); i++) await delay(5);
    assert.ok(events.includes('close /never'));
    assert.ok(!events.includes('finish /never'));
  });
});

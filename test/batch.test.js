'use strict';

// lib/batch.js against the addon: a ring thread's real batches, of a shape
// the test knows, read back record by record and field by field. A reader
// whose offsets or record sizes differ from what the ring thread writes
// fails here, naming the field, rather than as a hang or a garbled header
// somewhere else in the suite. (test/batch_layout.test.js checks the
// constants themselves.)

const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const native = require('../lib/native');
const batch = require('../lib/batch');
const { skipOnNodeBackend } = require('./helpers');

// The options NativeServer#listen() reads, as lib/uring_backend.js passes them.
function listenOptions(overrides) {
  return {
    host: '127.0.0.1', port: 0, backlog: 16, reusePort: false, ringEntries: 64,
    maxHeaderSize: 16 * 1024, headersTimeout: 60000, requestTimeout: 300000,
    keepAliveTimeout: 5000, maxRequestBodySize: 0, timeout: 0,
    routes: [], statics: [], keepAliveLines: 'Connection: keep-alive\r\n',
    ...overrides,
  };
}

// A batch sink that keeps every record as a plain object, and lets a test
// wait for the first record of a kind that matches.
class Recorder {
  constructor() {
    this.records = [];
    this.waiting = [];
    this.error = null;
  }

  onOpen(slot, gen, family, port, addr) {
    const bytes = typeof addr === 'number' ? [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255] : [...addr];
    this.add({ kind: 'open', slot, gen, family, port, addr: bytes });
  }

  onRequest(slot, gen, seq, info, words, bytes, at) {
    const head = batch.requestHead(words, bytes, at);
    this.add({
      kind: 'request', slot, gen, seq,
      method: batch.requestMethod(info),
      version: `${batch.requestMajor(info)}.${batch.requestMinor(info)}`,
      keepAlive: (info & batch.REQ_KEEP_ALIVE) !== 0,
      hasBody: (info & batch.REQ_HAS_BODY) !== 0,
      url: batch.requestUrl(words, at, head),
      rawHeaders: batch.requestRawHeaders(words, at, head),
    });
  }

  onBody(slot, gen, chunk) { this.add({ kind: 'body', slot, gen, text: chunk.toString('latin1') }); }
  onTrailers(slot, gen, raw) { this.add({ kind: 'trailers', slot, gen, raw }); }
  onEnd(slot, gen) { this.add({ kind: 'end', slot, gen }); }
  onClose(slot, gen) { this.add({ kind: 'close', slot, gen }); }
  onTimeout(slot, gen) { this.add({ kind: 'timeout', slot, gen }); }
  onDrain(slot, gen, sent) { this.add({ kind: 'drain', slot, gen, sent }); }
  onReleased(slot, gen, id) { this.add({ kind: 'released', slot, gen, id }); }
  onStopped() { this.add({ kind: 'stopped' }); }
  onHangup(slot, gen) { this.add({ kind: 'hangup', slot, gen }); }
  onHeldHangup(slot, gen) { this.add({ kind: 'held-hangup', slot, gen }); }
  onWs(slot, gen, op, code, chunk) { this.add({ kind: 'ws', slot, gen, op, code, text: chunk.toString() }); }
  onClientError(slot, gen, status, seq, code, reason, packet, parsed) {
    this.add({ kind: 'clientError', slot, gen, status, seq, code, reason, packet: packet.toString('latin1'), parsed });
  }

  // The batch callback: a reader that loses its place throws, and the
  // waiting test fails with that error.
  listener() {
    return (buffer, nwords) => {
      try {
        batch.readBatch(buffer, nwords, this);
      } catch (err) {
        this.error = err;
        for (const w of this.waiting.splice(0)) w.reject(err);
      }
    };
  }

  add(record) {
    this.records.push(record);
    const still = [];
    for (const w of this.waiting) {
      if (w.kind === record.kind && w.match(record)) w.resolve(record);
      else still.push(w);
    }
    this.waiting = still;
  }

  next(kind, match = () => true) {
    if (this.error) return Promise.reject(this.error);
    const seen = this.records.find((r) => r.kind === kind && match(r));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => this.waiting.push({ kind, match, resolve, reject }));
  }
}

describe('batch reader (lib/batch.js) against the addon', function () {
  let handle = null;
  const clients = [];

  before(function () {
    skipOnNodeBackend(this, 'no ring thread writes batches there');
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
    if (handle !== null) {
      handle.stop(native.constants.STOP_FORCE);
      handle = null;
    }
  });

  it('reads a connection, a request with a body, a drain, a timeout, a close and the stop', async () => {
    const recorder = new Recorder();
    handle = new native.NativeServer();
    // No keepAliveTimeout: between requests it would stand in for the
    // timeout, whose TIMEOUT record comes at the end.
    const result = handle.listen(listenOptions({ timeout: 200, keepAliveTimeout: 0 }), recorder.listener());
    assert.equal(result.errno, undefined, JSON.stringify(result));

    const client = net.connect(result.port, '127.0.0.1');
    clients.push(client);
    await once(client, 'connect');
    client.write('POST /echo?x=1 HTTP/1.1\r\nHost: t\r\nX-Two: a b\r\nContent-Length: 5\r\n\r\nhello');

    const open = await recorder.next('open');
    assert.deepEqual(open, {
      kind: 'open', slot: open.slot, gen: open.gen, family: 'IPv4', port: client.localPort,
      addr: [127, 0, 0, 1],
    });
    const conn = (r) => r.slot === open.slot && r.gen === open.gen;
    assert.deepEqual(await recorder.next('request', conn), {
      kind: 'request', slot: open.slot, gen: open.gen, seq: 0, method: 'POST', version: '1.1',
      keepAlive: true, hasBody: true, url: '/echo?x=1',
      rawHeaders: ['Host', 't', 'X-Two', 'a b', 'Content-Length', '5'],
    });
    assert.equal((await recorder.next('body', conn)).text, 'hello');
    await recorder.next('end', conn);

    // A response, then a wish to hear once all of it is sent: the DRAIN
    // record counts the head's and the body's bytes.
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
    const C = native.constants;
    handle.send(open.slot, open.gen, 0, C.OUT_END, head, 'ok');
    handle.send(open.slot, open.gen, 0, C.OUT_NOTIFY, undefined, undefined);
    handle.flush();
    assert.equal((await recorder.next('drain', conn)).sent, head.length + 2);

    // A body lent, not copied: once sent, a RELEASED record gives its id
    // back, on the connection it went to.
    client.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await recorder.next('request', (r) => conn(r) && r.seq === 1);
    const lent = Buffer.alloc(20000, 'l');
    const lentHead = `HTTP/1.1 200 OK\r\nContent-Length: ${lent.length}\r\n\r\n`;
    assert.equal(handle.send(open.slot, open.gen, 1, C.OUT_END, lentHead, lent, undefined, 77), true);
    handle.flush();
    assert.deepEqual(await recorder.next('released', conn),
      { kind: 'released', slot: open.slot, gen: open.gen, id: 77 });

    // No traffic for the timeout: a TIMEOUT record (the ring thread leaves
    // the connection open; the JS side decides).
    await recorder.next('timeout', conn);
    client.end();
    await recorder.next('close', conn);

    handle.stop(native.constants.STOP_DRAIN);
    handle = null;
    await recorder.next('stopped');
    assert.equal(recorder.error, null);
  });

  it('reads the WS records of a connection in WebSocket mode: a message, a ping, a close, an error', async () => {
    const C = native.constants;
    const recorder = new Recorder();
    handle = new native.NativeServer();
    const result = handle.listen(listenOptions(), recorder.listener());
    assert.equal(result.errno, undefined, JSON.stringify(result));

    // A client frame, masked with a fixed key.
    const frame = (b0, payload) => {
      const key = [1, 2, 3, 4];
      return Buffer.from([b0, 0x80 | payload.length, ...key, ...payload.map((x, i) => x ^ key[i & 3])]);
    };
    const upgrade = 'GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
    // The client's connection, its upgrade request taken as a WebSocket.
    const accept = async (client) => {
      await once(client, 'connect');
      const open = await recorder.next('open', (r) => r.port === client.localPort);
      const conn = (r) => r.slot === open.slot && r.gen === open.gen;
      client.write(upgrade);
      await recorder.next('request', conn);
      handle.wsOpen(open.slot, open.gen, 'HTTP/1.1 101 Switching Protocols\r\n\r\n', 0, undefined);
      handle.flush();
      return { conn, open };
    };

    const client = net.connect(result.port, '127.0.0.1');
    clients.push(client);
    const { conn, open } = await accept(client);
    client.write(Buffer.concat([
      frame(0x81, [...Buffer.from('hi')]), frame(0x89, [...Buffer.from('p')]),
      frame(0x88, [0x0f, 0xa0, ...Buffer.from('bye')]),
    ]));
    assert.deepEqual(await recorder.next('ws', (r) => conn(r) && r.op === C.WS_OP_TEXT),
      { kind: 'ws', slot: open.slot, gen: open.gen, op: C.WS_OP_TEXT, code: 0, text: 'hi' });
    assert.equal((await recorder.next('ws', (r) => conn(r) && r.op === C.WS_OP_PING)).text, 'p');
    const close = await recorder.next('ws', (r) => conn(r) && r.op === C.WS_OP_CLOSE);
    assert.deepEqual([close.code, close.text], [4000, 'bye']);
    client.end();
    await recorder.next('close', conn);

    // An unmasked frame: the ring thread's error record, with the close code.
    const bad = net.connect(result.port, '127.0.0.1');
    clients.push(bad);
    const { conn: badConn } = await accept(bad);
    bad.write(Buffer.from([0x81, 0x00]));
    const err = await recorder.next('ws', (r) => badConn(r) && r.op === C.WS_REC_ERROR);
    assert.deepEqual([err.code, err.text], [1002, 'WS_ERR_EXPECTED_MASK MASK must be set']);
    assert.equal(recorder.error, null);
  });

  // A ring thread (setup(handle) first) and a client sending bytes:
  // { recorder, client, open (its OPEN record), conn (a filter for its
  // records) }.
  async function connectAndSend(bytes, setup = () => {}) {
    const recorder = new Recorder();
    handle = new native.NativeServer();
    const result = handle.listen(listenOptions(), recorder.listener());
    assert.equal(result.errno, undefined, JSON.stringify(result));
    setup(handle);
    const client = net.connect(result.port, '127.0.0.1');
    clients.push(client);
    await once(client, 'connect');
    client.write(bytes);
    const open = await recorder.next('open');
    return { recorder, client, open, conn: (r) => r.slot === open.slot && r.gen === open.gen };
  }

  it("reads a chunked body's TRAILERS, just before its END", async () => {
    const { recorder, conn } = await connectAndSend('POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '2\r\nhi\r\n0\r\nX-Sum: 12\r\nX-Empty:\r\n\r\n');
    await recorder.next('end', conn);
    const kinds = recorder.records.filter(conn).map((r) => r.kind);
    assert.deepEqual(kinds, ['open', 'request', 'body', 'trailers', 'end']);
    assert.deepEqual((await recorder.next('trailers', conn)).raw, ['X-Sum', '12', 'X-Empty', '']);
    assert.equal(recorder.error, null);
  });

  it('reads a CLIENT_ERROR, once asked for them, and answers it with raw chunks', async () => {
    const ok = 'GET / HTTP/1.1\r\nHost: t\r\n\r\n';
    const { recorder, client, open, conn } = await connectAndSend(`${ok}FROB / HTTP/1.1\r\n\r\n`,
      (h) => h.setClientErrors(true));
    const record = await recorder.next('clientError', conn);
    assert.deepEqual(record, {
      kind: 'clientError', slot: open.slot, gen: open.gen, status: 400, seq: 1,
      code: 'HPE_INVALID_METHOD', reason: record.reason, packet: `${ok}FROB / HTTP/1.1\r\n\r\n`,
      parsed: record.parsed,
    });
    // Where llhttp stopped: past the whole first request, in the method.
    assert.ok(record.parsed > ok.length && record.parsed < ok.length + 4, `parsed: ${record.parsed}`);
    assert.match(record.reason, /method/i);

    // Response 0 first, then the raw answer as response 1; its SHUTDOWN
    // closes the connection.
    const C = native.constants;
    let received = '';
    client.on('data', (d) => { received += d.toString('latin1'); });
    handle.send(open.slot, open.gen, 1, C.OUT_RAW | C.OUT_SHUTDOWN, 'second', undefined);
    handle.send(open.slot, open.gen, 0, C.OUT_END, 'first ', undefined);
    handle.flush();
    await once(client, 'end');
    assert.equal(received, 'first second');
    await recorder.next('close', conn);
    assert.equal(recorder.error, null);
  });
});

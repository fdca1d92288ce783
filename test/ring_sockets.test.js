'use strict';

// Ring socket operations on loopback: accept, connect, send, recv, against
// each other and against node:net peers; timeouts and cancel.

const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const { Ring, listenSocket } = require('..');
const { skipOnNodeBackend } = require('./helpers');

describe('Ring: sockets, timeouts, cancel', () => {
  before(function () {
    skipOnNodeBackend(this, 'the Ring API runs on io_uring only; the default run covers it');
  });

  let ring;
  const fds = [];

  beforeEach(() => {
    ring = new Ring();
  });

  afterEach(async () => {
    for (const fd of fds.splice(0)) await ring.close(fd).catch(() => {});
    await ring.close();
  });

  const track = (fd) => {
    fds.push(fd);
    return fd;
  };

  // A listening socket, a connected client and the accepted server side.
  async function pair(host = '127.0.0.1') {
    const { fd: lfd, port } = listenSocket(0, host);
    track(lfd);
    const client = track(await ring.socket(net.isIPv6(host) ? 'tcp6' : 'tcp4'));
    const [server] = await Promise.all([ring.accept(lfd), ring.connect(client, host, port)]);
    return { client, server: track(server), port };
  }

  it('accepts, connects, sends and receives byte-exact, both ways', async () => {
    const { client, server } = await pair();
    const data = Buffer.alloc(200000, 'x');
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const got = Buffer.alloc(data.length);
    let sent = 0;
    let received = 0;
    const sending = (async () => {
      while (sent < data.length) sent += await ring.send(client, data, sent);
    })();
    while (received < data.length) {
      const n = await ring.recv(server, got, received);
      assert.ok(n > 0);
      received += n;
    }
    await sending;
    assert.ok(got.equals(data));

    assert.equal(await ring.send(server, 'pong'), 4);
    const back = Buffer.alloc(16);
    assert.equal(await ring.recv(client, back), 4);
    assert.equal(back.toString('latin1', 0, 4), 'pong');
  });

  it('works over IPv6 and with host names', async () => {
    const { client, server } = await pair('::1');
    await ring.send(client, 'six');
    const buf = Buffer.alloc(8);
    assert.equal(await ring.recv(server, buf), 3);

    const { fd: lfd, port } = listenSocket(0, '127.0.0.1');
    track(lfd);
    const c = track(await ring.socket('tcp4'));
    const accepted = ring.accept(lfd);
    assert.equal(await ring.connect(c, 'localhost', port), 0);
    track(await accepted);
  });

  it('talks to node:net peers', async () => {
    const server = net.createServer((s) => s.end('from node'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const fd = track(await ring.socket());
      await ring.connect(fd, '127.0.0.1', server.address().port);
      const buf = Buffer.alloc(64);
      const n = await ring.recv(fd, buf);
      assert.equal(buf.toString('latin1', 0, n), 'from node');
      assert.equal(await ring.recv(fd, buf), 0); // the peer closed
    } finally {
      server.close();
    }
  });

  it('fails connect with ECONNREFUSED', async () => {
    const { fd: lfd, port } = listenSocket(0, '127.0.0.1');
    await ring.close(lfd); // nothing listens there now
    const fd = track(await ring.socket());
    await assert.rejects(ring.connect(fd, '127.0.0.1', port),
      { code: 'ECONNREFUSED', syscall: 'connect' });
  });

  it('listenSocket reports a busy port as node:net does', () => {
    const { fd, port } = listenSocket(0, '127.0.0.1');
    track(fd);
    assert.throws(() => listenSocket(port, '127.0.0.1'),
      { code: 'EADDRINUSE', syscall: 'listen', port });
  });

  it('timeout resolves after its time', async () => {
    const start = process.hrtime.bigint();
    assert.equal(await ring.timeout(50), undefined);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms >= 49, `${ms} ms`);
  });

  it('cancel really cancels a pending timeout and a pending recv', async () => {
    const t = ring.timeout(60000);
    assert.equal(await ring.cancel(t), true);
    await assert.rejects(t, { code: 'ECANCELED', syscall: 'timeout' });

    const { server } = await pair();
    const r = ring.recv(server, Buffer.alloc(16));
    await ring.timeout(10); // surely in the kernel by now
    assert.equal(await ring.cancel(r), true);
    await assert.rejects(r, { code: 'ECANCELED', syscall: 'recv' });
  });

  it('cancel works when the queue is full, and on ops still waiting for room', async () => {
    const small = new Ring({ entries: 1 }); // 2 in flight at most
    try {
      const [a, b, waiting] = [small.timeout(60000), small.timeout(60000), small.timeout(60000)];
      assert.equal(await small.cancel(waiting), true); // never reached the kernel
      await assert.rejects(waiting, { code: 'ECANCELED' });
      assert.equal(await small.cancel(a), true); // in the kernel, past the cap
      await assert.rejects(a, { code: 'ECANCELED' });
      assert.equal(await small.cancel(b), true);
      await assert.rejects(b, { code: 'ECANCELED' });
    } finally {
      await small.close();
    }
  });

  it('cancels a waiting op with the rest of its chain, and ends the chain before it', async () => {
    const small = new Ring({ entries: 2 });
    try {
      const busy = [small.timeout(60000), small.timeout(60000), small.timeout(60000), small.timeout(60000)];
      const [first, target, after] = small.link(() => [small.nop(), small.nop(), small.nop()]);
      assert.equal(await small.cancel(target), true);
      await assert.rejects(target, { code: 'ECANCELED' });
      await assert.rejects(after, { code: 'ECANCELED' });
      for (const p of busy) await small.cancel(p);
      await Promise.allSettled(busy);
      assert.equal(await first, 0); // ran on its own, after the cap freed
    } finally {
      await small.close();
    }
  });

  it('cancel never rejects: false while the ring closes, an error inside link()', async () => {
    const t = ring.timeout(60000);
    const closing = ring.close();
    assert.equal(await ring.cancel(t), false);
    await assert.rejects(t, { code: 'ECANCELED' });
    await closing;
    ring = new Ring();
    const u = ring.timeout(60000);
    assert.throws(() => ring.link(() => ring.cancel(u)), { code: 'ERR_URING_LINK_CANCEL' });
    assert.equal(await ring.cancel(u), true);
    await assert.rejects(u, { code: 'ECANCELED' });
  });

  it('cancel resolves false for what is done or not the ring\'s own', async () => {
    const done = ring.nop();
    await done;
    assert.equal(await ring.cancel(done), false);
    assert.equal(await ring.cancel(Promise.resolve(1)), false);
    assert.throws(() => ring.cancel(42), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

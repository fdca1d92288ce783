'use strict';

// Bounded memory against clients that send faster than they read, or
// faster than the handler reads.

const assert = require('node:assert/strict');
const net = require('node:net');
const crypto = require('node:crypto');
const { Readable } = require('node:stream');
const {
  skipOnNodeBackend, startServer, cleanup, request, delay, HOST,
} = require('./helpers');

describe('backpressure', () => {
  afterEach(cleanup);

  it('stops reading a pipelining client that does not read its responses', async function () {
    // node:http answers every request of one read before it checks whether
    // the client reads: 2,000 requests in one write get 2,000 responses
    // (125 MiB) queued in memory. node-uring stops at 64 unanswered.
    skipOnNodeBackend(this, 'node:http queues a response to every request of one read, unbounded');
    const total = 2000;
    const reply = Buffer.alloc(64 * 1024, 'r');
    let handled = 0;
    const { port } = await startServer((req, res) => {
      handled++;
      res.end(reply);
    });
    const socket = net.connect(port, HOST);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause(); // the client reads nothing for now
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(total));
    await delay(500);
    const whilePaused = handled;
    // 2,000 x 64 KiB would be 125 MiB of responses; the kernel's socket
    // buffers hold a few MiB and the server a little more, then it waits.
    assert.ok(whilePaused < total / 2, `handled ${whilePaused} of ${total} while the client read nothing`);

    let received = 0;
    const expected = total * reply.length;
    socket.on('data', (chunk) => (received += chunk.length));
    socket.resume();
    const deadline = Date.now() + 10000;
    while (handled < total && Date.now() < deadline) await delay(20);
    assert.equal(handled, total);
    while (received < expected && Date.now() < deadline) await delay(20);
    assert.ok(received > expected, `received ${received} bytes, bodies alone are ${expected}`);
    socket.destroy();
  });

  it('pauses a request body the handler is not reading yet', async () => {
    const size = 64 * 1024 * 1024;
    let buffered = 0;
    const { port } = await startServer(async (req, res) => {
      await delay(300); // the body keeps coming meanwhile
      buffered = req.readableLength;
      let n = 0;
      for await (const chunk of req) n += chunk.length;
      res.end(String(n));
    });
    const { body } = await request(port, { method: 'POST', headers: { 'content-length': size } },
      Buffer.alloc(size, 'b'));
    assert.equal(body.toString(), String(size));
    assert.ok(buffered < 4 * 1024 * 1024, `${buffered} bytes of body buffered in JS`);
  });

  it('drops the unread body of an answered request and serves the next one', async () => {
    const { port } = await startServer((req, res) => res.end(`seen ${req.url}`));
    const socket = net.connect(port, HOST);
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    await new Promise((resolve) => socket.once('connect', resolve));
    const body = Buffer.alloc(8 * 1024 * 1024, 'x');
    socket.write(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    socket.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    const deadline = Date.now() + 5000;
    while (!Buffer.concat(chunks).includes('seen /next') && Date.now() < deadline) await delay(20);
    const text = Buffer.concat(chunks).toString();
    assert.match(text, /seen \/big[\s\S]*seen \/next/);
    socket.destroy();
  });

  // Connects, sends one request, reads nothing until resume() is called;
  // resolves the body bytes (after the head) once the response has ended.
  function lazyClient(port) {
    const socket = net.connect(port, HOST);
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    const body = new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('end', () => {
        const all = Buffer.concat(chunks);
        resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
      });
    });
    return { socket, body };
  }

  // Undoes chunked framing.
  function unchunk(buf) {
    const out = [];
    for (let at = 0; ;) {
      const eol = buf.indexOf('\r\n', at);
      const size = parseInt(buf.toString('latin1', at, eol), 16);
      if (size === 0) return Buffer.concat(out);
      out.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }

  it("res.write() returns false while the client does not read, and 'drain' comes as it reads", async () => {
    const chunk = crypto.randomBytes(64 * 1024);
    const max = 512; // 32 MiB: far more than the kernel's socket buffers hold
    let wrote = 0;
    let drains = 0;
    let response;
    const { port } = await startServer((req, res) => {
      response = res;
      res.setHeader('Content-Type', 'application/octet-stream');
      // Writes until write() says stop, then waits for 'drain'.
      const pump = () => {
        while (wrote < max) {
          wrote++;
          if (!res.write(chunk)) {
            res.once('drain', () => {
              drains++;
              pump();
            });
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const client = lazyClient(port);
    await delay(300);
    // Stalled: the kernel's buffers are full, the rest waits in the handler.
    const stalledAt = wrote;
    assert.ok(stalledAt < max, `wrote all ${max} chunks to a client reading nothing`);
    assert.equal(response.writableNeedDrain, true);
    assert.ok(response.writableLength >= 16 * 1024, `${response.writableLength} unsent`);
    await delay(200);
    assert.equal(wrote, stalledAt, 'wrote on without a drain');
    client.socket.resume();
    const body = unchunk(await client.body);
    assert.ok(drains > 0);
    assert.equal(response.writableLength, 0);
    assert.equal(body.length, max * chunk.length);
    for (let i = 0; i < max; i++) {
      assert.ok(body.subarray(i * chunk.length, (i + 1) * chunk.length).equals(chunk), `chunk ${i}`);
    }
  });

  it('pipes a 32 MiB stream to a slow client with bounded unsent bytes', async function () {
    this.timeout(30000);
    const chunk = Buffer.alloc(64 * 1024, 'p');
    const count = 512;
    let maxUnsent = 0;
    const { port } = await startServer((req, res) => {
      let n = 0;
      const source = new Readable({
        read() {
          maxUnsent = Math.max(maxUnsent, res.writableLength);
          this.push(n++ < count ? chunk : null);
        },
      });
      source.pipe(res);
    });
    const client = lazyClient(port);
    // Read in bursts with pauses, as a slow client does.
    const reader = setInterval(() => {
      client.socket.resume();
      setTimeout(() => client.socket.pause(), 5);
    }, 20);
    try {
      const body = unchunk(await client.body);
      assert.equal(body.length, count * chunk.length);
    } finally {
      clearInterval(reader);
    }
    // pipe() stops at write() === false and waits for 'drain': what is
    // unsent stays near the high-water mark, not the 32 MiB.
    assert.ok(maxUnsent <= 16 * 1024 + 2 * chunk.length, `${maxUnsent} bytes unsent at most`);
  });
});

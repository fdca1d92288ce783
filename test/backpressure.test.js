'use strict';

// Bounded memory against clients that send faster than they read, or
// faster than the handler reads.

const assert = require('node:assert/strict');
const net = require('node:net');
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
});

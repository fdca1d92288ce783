'use strict';

// Nothing leaks: 10,000 connections opened and closed and 100,000 requests
// served leave the process's fds and the server's connections where they
// were. (The long soak under wrk is `npm run soak`, not part of the suite.)

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const { startServer, cleanup, HOST, delay } = require('./helpers');

const countFds = () => fs.readdirSync('/proc/self/fd').length;
const connections = (server) => new Promise((resolve, reject) => {
  server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
});

// One connection: `pipelined` requests in one write, all responses read,
// then the client closes. Resolves how many responses came.
function exchange(port, pipelined) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    let seen = 0;
    let text = '';
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(pipelined)));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      seen = text.split('HTTP/1.1 200 OK').length - 1;
      if (seen >= pipelined) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(seen));
  });
}

describe('leaks', () => {
  afterEach(cleanup);

  it('serves 100,000 requests on 10,000 connections and ends where it started', async function () {
    this.timeout(120000);
    const { server, port } = await startServer((req, res) => res.end('ok'));
    await delay(50);
    const fdsBefore = countFds();
    const total = 10000;
    const perConnection = 10;
    const concurrency = 100;
    let next = 0;
    let served = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const n = await exchange(port, perConnection); // not `served += await`: it would read served first
        served += n;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    assert.equal(served, total * perConnection);
    // The server closes its side once the client has: give it a moment.
    for (let i = 0; i < 50 && (await connections(server)) > 0; i++) await delay(20);
    assert.equal(await connections(server), 0);
    assert.equal(countFds(), fdsBefore);
  });
});

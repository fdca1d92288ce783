'use strict';

// `npm start` (scripts/start.js): serves server_listen()'s page and, on
// SIGINT or SIGTERM, closes the server and exits 0, as `docker stop` and
// process managers expect.

const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { request } = require('./helpers');

const START = path.join(__dirname, '..', 'scripts', 'start.js');

// Starts scripts/start.js on a free port; resolves with the child and port.
async function start() {
  const child = spawn(process.execPath, [START], {
    env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  for await (const chunk of child.stdout) {
    out += chunk;
    const m = /http:\/\/localhost:(\d+)/.exec(out);
    if (m) return { child, port: Number(m[1]) };
  }
  throw new Error(`scripts/start.js printed no address: ${out}`);
}

describe('npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    it(`serves the page, then ${signal} closes the server and exits 0 at once`, async () => {
      const { child, port } = await start();
      const { res, body } = await request(port, { path: '/', agent: false });
      assert.equal(res.statusCode, 200);
      assert.match(body.toString(), /node-uring/);
      const t0 = Date.now();
      child.kill(signal);
      const [code, sig] = await once(child, 'exit');
      assert.equal(sig, null);
      assert.equal(code, 0);
      assert.ok(Date.now() - t0 < 2000, `exited after ${Date.now() - t0} ms`);
    });
  }

  it('a kept-alive idle connection does not hold the exit back', async () => {
    const { child, port } = await start();
    const net = require('node:net');
    const socket = net.connect(port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    const t0 = Date.now();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    socket.destroy();
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 2000, `exited after ${Date.now() - t0} ms`);
  });
});

'use strict';

// listen(path): a Unix domain socket instead of TCP, as net.Server's. The
// server's address() is the path, a connection's peer has no address nor
// port, the file goes at close(), and a taken path is EADDRINUSE. On both
// backends: the node:http one is net.Server itself, the reference.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');
const { WebSocketServer } = require('..');
const { createServer, trackServer, cleanup, closeServer } = require('./helpers');

let dir;
const socketPath = (name) => path.join(dir, name);

// A request over the Unix socket at socketPath: { status, headers, body }.
function get(socketPath, options = {}) {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path: '/', agent: false, ...options }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}

function listen(server, ...args) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...args, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

describe('Unix sockets: listen(path)', () => {
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-unix-'));
  });
  afterEach(async () => {
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves over the socket, says its path as address(), and removes the file at close()', async () => {
    const file = socketPath('s.sock');
    const seen = [];
    const server = trackServer(createServer((req, res) => {
      const s = req.socket;
      seen.push([s.remoteAddress, s.remotePort, s.remoteFamily, s.address()]);
      res.end(`hello ${req.url}`);
    }));
    await listen(server, file);
    assert.equal(server.address(), file);
    assert.ok(fs.statSync(file).isSocket());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const url of ['/a', '/b']) {
        const res = await get(file, { path: url, agent });
        assert.equal(res.status, 200);
        assert.equal(res.body, `hello ${url}`);
      }
    } finally {
      agent.destroy();
    }
    assert.deepEqual(seen, [[undefined, undefined, undefined, {}], [undefined, undefined, undefined, {}]]);
    await closeServer(server);
    assert.equal(fs.existsSync(file), false, 'the socket file is left behind');
  });

  it('takes listen({ path, backlog }) and a callback', async () => {
    const file = socketPath('o.sock');
    const server = trackServer(createServer((req, res) => res.end('ok')));
    await listen(server, { path: file, backlog: 16 });
    assert.equal((await get(file)).body, 'ok');
  });

  it('fails with EADDRINUSE on a path taken, as net.Server does, and listens once it is free', async () => {
    const file = socketPath('taken.sock');
    const first = trackServer(createServer((req, res) => res.end('first')));
    await listen(first, file);
    const second = trackServer(createServer((req, res) => res.end('second')));
    const err = await listen(second, file).then(() => null, (e) => e);
    assert.ok(err, 'the second listen() did not fail');
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.syscall, 'listen');
    assert.equal(err.address, file);
    assert.equal(err.message, `listen EADDRINUSE: address already in use ${file}`);
    assert.equal(second.listening, false);
    assert.equal((await get(file)).body, 'first');
    await closeServer(first);
    await listen(second, file);
    assert.equal((await get(file)).body, 'second');
  });

  it('refuses a path with more than one ring, and one too long for sun_path', async function () {
    assert.throws(() => createServer({ rings: 2 }, () => {}).listen(socketPath('r.sock')),
      { code: 'ERR_INVALID_ARG_VALUE', message: /one ring/ });
    // net.Server (libuv 1.46) binds such a path cut to 107 bytes instead.
    if (process.env.NODE_URING_BACKEND === 'node') return;
    const server = trackServer(createServer(() => {}));
    const err = await listen(server, path.join(dir, 'x'.repeat(120))).then(() => null, (e) => e);
    assert.ok(err, 'listen() on a path past 107 bytes did not fail');
    assert.match(err.code, /^(ENAMETOOLONG|EINVAL)$/);
  });

  it('upgrades to WebSocket over the socket (ws+unix:)', async () => {
    const file = socketPath('ws.sock');
    const server = trackServer(createServer((req, res) => res.end()));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${data}`)));
    await listen(server, file);
    const client = new WebSocket(`ws+unix://${file}:/`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    client.send('hi');
    const [reply] = await new Promise((resolve) => client.once('message', (...args) => resolve(args)));
    assert.equal(reply.toString(), 'echo hi');
    client.close();
    await new Promise((resolve) => client.once('close', resolve));
  });
});

'use strict';

// Real clients against the server: node:http with a keep-alive agent, fetch,
// and curl.

const assert = require('node:assert/strict');
const http = require('node:http');
const { execFile, spawnSync } = require('node:child_process');
const { startServer, cleanup, keepAliveAgent, readBody, parseResponse, HOST } = require('./helpers');

function get(port, path, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ res, body, socket: req.socket }));
    });
    req.on('error', reject);
  });
}

// curl must not inherit the ASan runtime that `npm run test:asan` preloads
// into node: it hangs under it.
const { LD_PRELOAD, ...curlEnv } = process.env;
const hasCurl = spawnSync('curl', ['--version'], { env: curlEnv }).status === 0;

function curl(args) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--http1.1', '--max-time', '5', ...args], { encoding: 'buffer', env: curlEnv }, (err, stdout, stderr) => {
      if (err) reject(new Error(`curl failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('basic clients', () => {
  afterEach(cleanup);

  it('serves 1,000 sequential keep-alive GETs from node:http on one connection', async function () {
    this.timeout(20000);
    const remotePorts = new Set();
    const { port } = await startServer((req, res) => {
      remotePorts.add(req.socket.remotePort);
      res.end(`hello ${req.url}`);
    });
    const agent = keepAliveAgent();
    const clientSockets = new Set();
    for (let i = 0; i < 1000; i++) {
      const { res, body, socket } = await get(port, `/n/${i}`, agent);
      clientSockets.add(socket);
      assert.equal(res.statusCode, 200);
      assert.equal(body, `hello /n/${i}`);
    }
    assert.equal(clientSockets.size, 1, 'client used more than one socket');
    assert.equal(remotePorts.size, 1, 'server saw more than one connection');
  });

  it('answers fetch GET', async () => {
    const { port } = await startServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url}`);
    });
    const res = await fetch(`http://${HOST}:${port}/fetch?x=1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(await res.text(), 'GET /fetch?x=1');
  });

  it('answers fetch POST with the echoed body', async () => {
    const { port } = await startServer(async (req, res) => {
      const body = await readBody(req);
      res.end(`${req.method} ${req.headers['content-type']} ${body}`);
    });
    const res = await fetch(`http://${HOST}:${port}/post`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'POST application/json {"hello":"world"}');
  });

  // ASCII strings are copied as latin1, the others encoded as UTF-8: the
  // bytes and Content-Length must be UTF-8's either way, written at once
  // or in parts, including the one-byte strings that are not ASCII.
  it('sends string bodies as UTF-8, ASCII or not, ended or written', async () => {
    const bodies = ['plain ascii', 'caf\u00e9 \u00ff', 'euro \u20ac', 'emoji \u{1f600}', 'lone \ud800 surrogate', ''];
    const { port } = await startServer((req, res) => {
      const body = bodies[Number(req.url.slice(1))];
      if (req.headers.mode === 'write') {
        res.write(body);
        res.write(body);
        res.end();
      } else {
        res.end(body);
      }
    });
    for (const [i, body] of bodies.entries()) {
      for (const mode of ['end', 'write']) {
        const res = await fetch(`http://${HOST}:${port}/${i}`, { headers: { mode } });
        const bytes = Buffer.from(await res.arrayBuffer());
        const expected = Buffer.from(mode === 'write' ? body + body : body, 'utf8');
        assert.deepEqual(bytes, expected, `${mode} ${JSON.stringify(body)}`);
        if (mode === 'end') assert.equal(res.headers.get('content-length'), String(expected.length));
      }
    }
  });

  it('answers curl GET and POST', async function () {
    if (!hasCurl) this.skip();
    const { port } = await startServer(async (req, res) => {
      const body = await readBody(req);
      res.end(`${req.method} ${req.url} ${body}`);
    });
    const url = `http://${HOST}:${port}/curl`;

    const got = await curl(['-i', url]);
    const { response } = parseResponse(got, { ended: true });
    assert.equal(response.statusCode, 200);
    assert.equal(response.httpVersion, '1.1');
    assert.equal(response.body.toString(), 'GET /curl ');

    const posted = await curl(['-d', 'payload', url]);
    assert.equal(posted.toString(), 'POST /curl payload');
  });
});

'use strict';

// Shared helpers: start servers on an ephemeral port and close them after
// each test, and a raw TCP client that parses HTTP/1.1 responses byte-exactly.

const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');
const uring = require('..');

const HOST = '127.0.0.1';

// The backend every server of the suite runs on: NODE_URING_BACKEND=node
// (`npm run test:node-backend`) runs it against the node:http backend.
// Unset, servers use the default, 'auto'.
const BACKEND = process.env.NODE_URING_BACKEND || undefined;

// Options for createServer() with the suite's backend.
function serverOptions(options) {
  return BACKEND === undefined ? { ...options } : { backend: BACKEND, ...options };
}

// createServer([options], handler) on the suite's backend.
function createServer(options, handler) {
  if (typeof options === 'function') [options, handler] = [{}, options];
  return uring.createServer(serverOptions(options), handler);
}

// Skips the running test (or hook's suite) on the node:http backend, which
// has none of the io_uring internals it checks: call as
// `skipOnNodeBackend(this, 'why')` from a function () {}.
function skipOnNodeBackend(context, why) {
  if (BACKEND !== 'node') return;
  // From a before() hook, every test of the suite is skipped.
  const tests = context.test.type === 'hook' ? context.test.parent.tests : [context.test];
  for (const test of tests) test.title += ` (skipped on the node:http backend: ${why})`;
  context.skip();
}

const CLOSE_TIMEOUT_MS = 3000;

// Everything a test opened, released by cleanup().
const open = { servers: new Set(), sockets: new Set(), agents: new Set() };

function track(kind, thing) {
  open[kind].add(thing);
  return thing;
}

// Makes cleanup() close a server created outside startServer().
function trackServer(server) {
  return track('servers', server);
}

// Waits for 'listening' or 'error', whichever comes first.
function listening(server, ...args) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(...args);
  });
}

// Starts a node-uring server on 127.0.0.1 and a free port.
// Resolves { server, port }; cleanup() closes it.
async function startServer(handler, options) {
  const server = createServer(options, handler);
  track('servers', server);
  await listening(server, 0, HOST);
  return { server, port: server.address().port };
}

// Resolves when server.close() calls back; rejects if it does not do so in
// time (a server that cannot close is a bug, not a slow test).
function closeServer(server, timeoutMs = CLOSE_TIMEOUT_MS) {
  open.servers.delete(server);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server.close() did not call back within ${timeoutMs} ms`));
    }, timeoutMs);
    server.close((err) => {
      clearTimeout(timer);
      if (err && err.code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
      else resolve();
    });
  });
}

// Closes every tracked server, then destroys the clients. Use in afterEach.
async function cleanup() {
  // The clients go first: as node:http's, a server's close() waits for a
  // connection with a request in flight until it has been idle for
  // keepAliveTimeout.
  for (const socket of open.sockets) socket.destroy();
  for (const agent of open.agents) agent.destroy();
  open.sockets.clear();
  open.agents.clear();
  const servers = [...open.servers];
  const results = await Promise.allSettled(servers.map((s) => closeServer(s)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// cleanup(), after closing the WebSocketServers a test made (emptying
// list) and cutting their clients. Use in afterEach.
async function cleanupWebSockets(list) {
  for (const wss of list.splice(0)) {
    for (const ws of wss.clients ?? []) ws.terminate();
    wss.close();
  }
  await cleanup();
}

function keepAliveAgent(options = {}) {
  return track('agents', new http.Agent({ keepAlive: true, maxSockets: 1, ...options }));
}

// One request with node:http. Resolves { res, body: Buffer }.
function request(port, options = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, agent: false, ...options }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves like promise, or rejects if it takes longer than ms.
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- Raw HTTP response parsing -------------------------------------------

// Parses one response at the start of buf. Returns { response, consumed },
// or null when more bytes are needed. A response without framing runs until
// the connection closes, so it is complete only once `ended` is true.
function parseResponse(buf, { head = false, ended = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const response = {
    httpVersion: m[1],
    statusCode: Number(m[2]),
    statusMessage: m[3] || '',
    rawHead: buf.subarray(0, end + 4).toString('latin1'),
    rawHeaders: [],
    headers: {},
    chunked: false,
    body: Buffer.alloc(0),
  };
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const key = name.toLowerCase();
    response.rawHeaders.push(name, value);
    response.headers[key] = key in response.headers ? `${response.headers[key]}, ${value}` : value;
  }
  let pos = end + 4;
  const { statusCode, headers } = response;
  const noBody = head || (statusCode >= 100 && statusCode < 200) || statusCode === 204 || statusCode === 304;
  if (noBody) return { response, consumed: pos };

  if (/\bchunked\b/i.test(headers['transfer-encoding'] || '')) {
    response.chunked = true;
    const parts = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size line');
      pos = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', pos);
        if (trailerEnd < 0) return null;
        if (trailerEnd !== pos) throw new Error('unexpected trailers');
        response.body = Buffer.concat(parts);
        return { response, consumed: trailerEnd + 2 };
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      if (buf.subarray(pos + size, pos + size + 2).toString() !== '\r\n') {
        throw new Error('chunk not followed by CRLF');
      }
      pos += size + 2;
    }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (buf.length < pos + length) return null;
    response.body = buf.subarray(pos, pos + length);
    return { response, consumed: pos + length };
  }
  // No framing: the body runs until the server closes the connection.
  if (!ended) return null;
  response.body = buf.subarray(pos);
  return { response, consumed: buf.length };
}

// A raw TCP client: write bytes, then read parsed responses or wait for the
// server to close. Every wait has a timeout, so a broken server fails a test
// instead of hanging it.
class RawClient {
  constructor(socket) {
    this.socket = track('sockets', socket);
    this.buf = Buffer.alloc(0);
    this.ended = false; // the server closed its side (FIN or RST)
    this.error = null;
    this.waiters = new Set();
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (err) => {
      this.error = err;
      this.finish();
    });
  }

  static connect(port, host = HOST) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  finish() {
    this.ended = true;
    this.wake();
  }

  wake() {
    for (const w of this.waiters) w();
  }

  write(data) {
    this.socket.write(data);
  }

  // Resolves with check()'s first non-undefined result, re-checked on every
  // event on the socket; rejects after timeoutMs naming `what`.
  until(check, what, timeoutMs = 3000) {
    return new Promise((resolve, reject) => {
      let timer;
      const attempt = () => {
        let value;
        try {
          value = check();
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(attempt);
      };
      timer = setTimeout(() => {
        done();
        const seen = JSON.stringify(this.buf.toString('latin1').slice(0, 300));
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${seen}`));
      }, timeoutMs);
      this.waiters.add(attempt);
      attempt();
    });
  }

  // Resolves the next complete response and consumes its bytes.
  // Set head: true when it answers a HEAD request.
  readResponse({ head = false, timeoutMs } = {}) {
    return this.until(() => {
      const parsed = parseResponse(this.buf, { head, ended: this.ended });
      if (parsed) {
        this.buf = this.buf.subarray(parsed.consumed);
        return parsed.response;
      }
      if (this.ended) throw new Error(`connection closed before a full response; have ${JSON.stringify(this.buf.toString('latin1'))}`);
      return undefined;
    }, 'a response', timeoutMs);
  }

  // Resolves the n next responses.
  async readResponses(n, options) {
    const responses = [];
    for (let i = 0; i < n; i++) responses.push(await this.readResponse(options));
    return responses;
  }

  // Resolves once the server has closed the connection, with any bytes
  // received and not consumed by readResponse().
  waitEnd(timeoutMs) {
    return this.until(() => (this.ended ? this.buf : undefined), 'the server to close the connection', timeoutMs);
  }

  // Resolves true if the server closes the connection within ms, else false.
  async closedWithin(ms) {
    try {
      await this.waitEnd(ms);
      return true;
    } catch {
      return false;
    }
  }

  destroy() {
    this.socket.destroy();
  }
}

// Connects, writes data in one write, and resolves the n responses.
async function rawRequest(port, data, n = 1, options) {
  const client = await RawClient.connect(port);
  client.write(data);
  const responses = await client.readResponses(n, options);
  return { client, responses };
}

// The kernel's PF_EXITING: the thread is in exit(). It is still listed
// for a moment after pthread_join() returned (the join wakes once the
// thread let go of its stack, before the kernel reaps it).
const PF_EXITING = 0x4;

// How many of this process's threads have a name starting with prefix
// (the core names its ring threads nu-ring and nu-queue) and are not
// exiting. A thread that exits while they are read is not counted.
function threadsNamed(prefix) {
  return fs.readdirSync('/proc/self/task').filter((t) => {
    try {
      if (!fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').startsWith(prefix)) return false;
      const stat = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
      return (flags & PF_EXITING) === 0;
    } catch {
      return false; // gone meanwhile
    }
  }).length;
}

module.exports = {
  HOST,
  threadsNamed,
  BACKEND,
  serverOptions,
  createServer,
  skipOnNodeBackend,
  startServer,
  closeServer,
  trackServer,
  listening,
  cleanup,
  cleanupWebSockets,
  keepAliveAgent,
  request,
  readBody,
  delay,
  withTimeout,
  parseResponse,
  RawClient,
  rawRequest,
};

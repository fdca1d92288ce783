'use strict';

// Backend parity for framework tests: the same app runs on node-uring (the
// suite's backend) and on node:http, each request goes to both, and the two
// responses must match: status, header lines (names with their case, and
// values; Date aside) and body, byte for byte. Two ways in:
//   - startBoth(handler) and same(ports, options, body): a request
//     listener (an Express or Koa app's callback) on both servers, the
//     header lines compared in order;
//   - startOnBoth(start) and compareResponses(pair, request): for a
//     framework that makes its own server (Fastify's serverFactory, Hono's
//     adapter), header lines compared in any order (see headerLines).
//
// For startOnBoth, an app is a start function: start(createServer) listens on an ephemeral
// port of 127.0.0.1 with a server made by the given createServer (node-
// uring's or node:http's, same signature), and resolves { port, close },
// close() resolving once the server is closed.

const assert = require('node:assert/strict');
const http = require('node:http');
const {
  HOST, createServer: uringCreateServer, startServer, request, listening, trackServer,
} = require('../helpers');

// Headers that differ between two correct runs.
const VOLATILE = new Set(['date']);

// The header lines as "name: value" strings, sorted unless ordered. Order
// is compared only where asked: a framework that reaches into node:http's
// internals (Hono's adapter sets res._contentLength so that node:http
// writes Content-Length itself, after Connection) orders node-uring's
// lines differently, to the same meaning.
function headerLines(rawHeaders, ordered) {
  const lines = [];
  for (let i = 0; i < rawHeaders.length; i += 2) lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`);
  return ordered ? lines : lines.sort();
}

// rawHeaders without the lines that differ between two correct runs.
function stable(rawHeaders) {
  const kept = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!VOLATILE.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}

// What a response of http.request() is compared by.
function received(res, body) {
  return {
    statusCode: res.statusCode, statusMessage: res.statusMessage,
    rawHeaders: stable(res.rawHeaders), body, trailers: res.rawTrailers,
  };
}

// Starts the app on both servers: { uring, node }, each { port, close }.
async function startOnBoth(start) {
  const uring = await start(uringCreateServer);
  try {
    const node = await start(http.createServer);
    return { uring, node, close: () => Promise.all([uring.close(), node.close()]) };
  } catch (err) {
    await uring.close();
    throw err;
  }
}

// One request, on a connection of its own: { statusCode, rawHeaders
// (Date aside), body: Buffer }. body may be a string, a Buffer or an
// array of chunks (written one by one, chunked).
function fetchRaw(port, { method = 'GET', path = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(received(res, Buffer.concat(chunks))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else {
      req.end(body);
    }
  });
}

// Asserts that two responses are the same, naming the request on failure.
function assertSameResponse(uring, node, what, { ordered = false } = {}) {
  assert.equal(uring.statusCode, node.statusCode, `${what}: status`);
  assert.equal(uring.statusMessage, node.statusMessage, `${what}: status message`);
  assert.deepEqual(headerLines(uring.rawHeaders, ordered), headerLines(node.rawHeaders, ordered),
    `${what}: headers (Date aside)`);
  assert.ok(uring.body.equals(node.body),
    `${what}: body differs: ${uring.body.length} bytes ${JSON.stringify(uring.body.subarray(0, 200).toString())} ` +
    `against node:http's ${node.body.length} ${JSON.stringify(node.body.subarray(0, 200).toString())}`);
  assert.deepEqual(uring.trailers, node.trailers, `${what}: trailers`);
}

// Sends request to both servers of pair, asserts the responses match, and
// resolves node-uring's, for the test's own checks.
async function compareResponses(pair, request = {}) {
  const what = `${request.method ?? 'GET'} ${request.path ?? '/'}`;
  const [uring, node] = await Promise.all([fetchRaw(pair.uring.port, request), fetchRaw(pair.node.port, request)]);
  assertSameResponse(uring, node, what);
  return uring;
}

// Starts a request listener on node:http and on node-uring: { nodePort,
// port, server } (server: node-uring's).
async function startBoth(handler) {
  const reference = trackServer(http.createServer(handler));
  await listening(reference, 0, HOST);
  const { server, port } = await startServer(handler);
  return { nodePort: reference.address().port, port, server };
}

// Sends the same request to both servers of startBoth(), asserts the two
// responses are the same, header order included, and resolves
// node-uring's ({ res, body, headers }).
async function same(ports, options = {}, body) {
  const expected = await request(ports.nodePort, options, body);
  const actual = await request(ports.port, options, body);
  const what = `${options.method || 'GET'} ${options.path || '/'}`;
  assertSameResponse(received(actual.res, actual.body), received(expected.res, expected.body), what,
    { ordered: true });
  assert.ok(actual.res.headers.date, `${what}: a Date header`);
  return { res: actual.res, body: actual.body, headers: actual.res.headers };
}

module.exports = { startOnBoth, fetchRaw, assertSameResponse, compareResponses, startBoth, same, HOST };

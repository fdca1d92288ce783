'use strict';

// Backend parity for framework tests: the same app runs on node-uring (the
// suite's backend) and on node:http, each request goes to both, and the two
// responses must match: status, header lines (names with their case, and
// values; Date aside; in any order) and body, byte for byte.
//
// An app is a start function: start(createServer) listens on an ephemeral
// port of 127.0.0.1 with a server made by the given createServer (node-
// uring's or node:http's, same signature), and resolves { port, close },
// close() resolving once the server is closed.

const assert = require('node:assert/strict');
const http = require('node:http');
const { HOST, createServer: uringCreateServer } = require('../helpers');

// Headers that differ between two correct runs.
const VOLATILE = new Set(['date']);

// The header lines as sorted "name: value" strings. Order is not compared:
// a framework that reaches into node:http's internals (Hono's adapter sets
// res._contentLength so that node:http writes Content-Length itself, after
// Connection) orders node-uring's lines differently, to the same meaning.
function headerLines(rawHeaders) {
  const lines = [];
  for (let i = 0; i < rawHeaders.length; i += 2) lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`);
  return lines.sort();
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
      res.on('end', () => {
        const rawHeaders = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (!VOLATILE.has(res.rawHeaders[i].toLowerCase())) {
            rawHeaders.push(res.rawHeaders[i], res.rawHeaders[i + 1]);
          }
        }
        resolve({
          statusCode: res.statusCode, rawHeaders, body: Buffer.concat(chunks),
          trailers: res.rawTrailers,
        });
      });
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
function assertSameResponse(uring, node, what) {
  assert.equal(uring.statusCode, node.statusCode, `${what}: status`);
  assert.deepEqual(headerLines(uring.rawHeaders), headerLines(node.rawHeaders), `${what}: headers (Date aside)`);
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

module.exports = { startOnBoth, fetchRaw, assertSameResponse, compareResponses, HOST };

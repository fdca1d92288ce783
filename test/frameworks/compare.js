'use strict';

// Runs one app on node:http and on node-uring (on the suite's backend, see
// test/helpers.js) and compares what a client gets from each: status, the
// response's header lines in order and spelling (all but Date), and the
// body, byte for byte.

const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, request, listening, trackServer, HOST } = require('../helpers');

// Starts handler on both servers. Resolves { nodePort, port, server }.
async function startBoth(handler) {
  const reference = trackServer(http.createServer(handler));
  await listening(reference, 0, HOST);
  const { server, port } = await startServer(handler);
  return { nodePort: reference.address().port, port, server };
}

// The response's header lines but Date, as [name, value] pairs in order.
function headerLines(res) {
  const lines = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i].toLowerCase() !== 'date') lines.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
  }
  return lines;
}

// Sends the same request to both servers; asserts the two responses are
// the same and resolves node-uring's ({ res, body, headers }).
async function same(ports, options = {}, body) {
  const expected = await request(ports.nodePort, options, body);
  const actual = await request(ports.port, options, body);
  const what = `${options.method || 'GET'} ${options.path || '/'}`;
  assert.equal(actual.res.statusCode, expected.res.statusCode, `${what}: status`);
  assert.equal(actual.res.statusMessage, expected.res.statusMessage, `${what}: status message`);
  assert.deepEqual(headerLines(actual.res), headerLines(expected.res), `${what}: headers`);
  assert.equal(actual.body.toString('latin1'), expected.body.toString('latin1'), `${what}: body`);
  assert.ok(actual.res.headers.date, `${what}: a Date header`);
  return { res: actual.res, body: actual.body, headers: actual.res.headers };
}

module.exports = { startBoth, same };

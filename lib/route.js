'use strict';

// server.route(): fixed responses the ring thread sends by itself to GET
// and HEAD, without a JS handler. Here they are checked and turned into
// the bytes the C core copies (see nu_route_spec in src/nu.h); the node
// backend answers them from the same records.
const { STATUS_CODES, validateHeaderName, validateHeaderValue } = require('node:http');
const { codedError } = require('./errors');

// Headers the route's framing owns.
const RESERVED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

function invalid(message) {
  return codedError(TypeError, 'ERR_INVALID_ARG_VALUE', message);
}

// A route record: { path, status, headers: [[name, value]...], body: Buffer }.
function makeRoute(method, path, response = {}) {
  if (method !== 'GET') {
    throw invalid(`server.route() answers GET (and HEAD with it), not ${String(method)}`);
  }
  if (typeof path !== 'string' || !(path === '*' || (path.startsWith('/') && !/[?#\s]/.test(path)))) {
    throw invalid(`The route path must be '*' or start with '/', without a query. Received ${String(path)}`);
  }
  if (response === null || typeof response !== 'object') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "response" argument must be of type object');
  }
  const { status = 200, headers = {}, body = '' } = response;
  if (!Number.isInteger(status) || status < 200 || status > 599 || status === 204 || status === 304) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
      `A route's status must be 200 to 599, and not 204 or 304 (no body). Received ${status}`);
  }
  if (typeof body !== 'string' && !ArrayBuffer.isView(body)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'A route\'s body must be a string or a Buffer');
  }
  const list = [];
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    if (RESERVED.has(name.toLowerCase())) throw invalid(`A route sets ${name} itself`);
    for (const v of Array.isArray(value) ? value : [value]) {
      validateHeaderValue(name, v);
      list.push([name, String(v)]);
    }
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) :
    Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return { path, status, headers: list, body: Buffer.from(bytes) };
}

// A route's head as a latin1 string: its status line and headers. The ring
// thread ends it with the connection's lines, Date and the blank line, as
// it ends every head it sends (src/http/head_end.c).
function routeHead(route) {
  let head = `HTTP/1.1 ${route.status} ${STATUS_CODES[route.status] ?? 'unknown'}\r\n`;
  for (const [name, value] of route.headers) head += `${name}: ${value}\r\n`;
  return `${head}Content-Length: ${route.body.length}\r\n`;
}

// The route for a request on the node backend, or undefined.
function matchRoute(routes, method, url) {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  const path = url.split('?', 1)[0];
  return routes.find((r) => r.path === '*' || r.path === path);
}

// Answers req with route on the node backend.
function answerRoute(route, req, res) {
  res.statusCode = route.status;
  for (const [name, value] of route.headers) res.appendHeader(name, value);
  res.setHeader('Content-Length', route.body.length);
  res.end(req.method === 'HEAD' ? undefined : route.body);
}

module.exports = { makeRoute, routeHead, matchRoute, answerRoute };

'use strict';

// A micro-benchmark of the objects a request costs the JS thread: req,
// res and res.end(body) for wrk's hello request (one header), with the
// ring's send() a no-op. Relative numbers only; run it on a quiet machine.
//   node bench/objects.js [libDir]    libDir: another tree's lib/ to compare
// It also times the other design issue 13 names: node:http's own
// IncomingMessage and ServerResponse, driven through their own internals
// (writeHead/_storeHeader, end() writing into a Duplex socket).
const path = require('node:path');
const http = require('node:http');
const { Duplex } = require('node:stream');

const lib = path.resolve(process.argv[2] || path.join(__dirname, '..', 'lib'));
const { constants: C } = require(path.join(lib, 'native'));
const { IncomingMessage } = require(path.join(lib, 'request'));
const { ServerResponse } = require(path.join(lib, 'response'));
const { UringSocket } = require(path.join(lib, 'socket'));

const N = Number(process.env.N || 300000);

// A REQUEST record and its bytes: GET / with "Host: localhost:8080".
const parts = ['/', 'Host', 'localhost:8080'];
const bytes = Buffer.from(parts.join(''), 'latin1');
const words = new Uint32Array(C.REQUEST_WORDS + parts.length + 4);
words[C.REQUEST_HEAD_OFF] = 0;
words[C.REQUEST_NLENS] = parts.length;
parts.forEach((p, i) => (words[C.REQUEST_LENS + i] = p.length));

const server = {
  keepAliveTimeout: 5000, maxRequestsPerSocket: 0,
  address: () => ({ address: '127.0.0.1', port: 8080, family: 'IPv4' }),
};
const ring = {
  server, index: 0, handle: {}, keepAliveLines: 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n',
  send() { return true; },
};

function uring(socket) {
  const req = new IncomingMessage(socket, 'GET', 1, 1, words, bytes, 0);
  const res = new ServerResponse(req, 0, true, server);
  res.end('Hello World!');
  return res;
}

// node:http's own objects over a Duplex that drops what it is given.
class Sink extends Duplex {
  _read() {}
  _write(chunk, encoding, callback) { callback(); }
}

function nodeOwn(socket) {
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.rawHeaders.push('Host', 'localhost:8080');
  const res = new http.ServerResponse(req);
  res.shouldKeepAlive = true;
  res._keepAliveTimeout = 5000;
  res.assignSocket(socket);
  res.end('Hello World!');
  res.detachSocket(socket);
  return res;
}

// In batches of 64, as the ring thread hands requests over, with the
// ticks between them run (each response's 'finish' is on the next tick).
async function time(name, fn, socket) {
  const batch = () => new Promise((resolve) => {
    for (let i = 0; i < 64; i++) fn(socket);
    setImmediate(resolve);
  });
  for (let i = 0; i < N / 640; i++) await batch(); // warm-up
  const start = process.cpuUsage();
  for (let i = 0; i < N / 64; i++) await batch();
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1000) / N;
  console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/request`);
}

(async () => {
  const socket = new UringSocket(ring, 0, 0, 'IPv4', 1234, Buffer.from([127, 0, 0, 1]));
  socket.setMaxListeners(0);
  await time(`node-uring objects + end(body) (${path.relative(process.cwd(), lib) || lib})`, uring, socket);
  if (!process.argv[2]) await time("node:http's own objects + end(body)", nodeOwn, new Sink());
})();

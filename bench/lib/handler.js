'use strict';

// The one request handler every benchmarked server runs, so that the
// servers differ only in what carries the bytes.

const BIG = Buffer.alloc(64 * 1024, 'x'); // precomputed: the case measures sending, not filling
// The hello body and its type: also what uring-route and nginx answer in
// the route case, so that every server there sends the same bytes.
const HELLO = 'Hello World';
const HELLO_TYPE = 'text/plain';

function handler(req, res) {
  if (req.method === 'POST') return echo(req, res);
  if (req.url === '/64k') {
    res.setHeader('Content-Type', 'application/octet-stream');
    return res.end(BIG);
  }
  res.setHeader('Content-Type', HELLO_TYPE);
  res.end(HELLO);
}

function echo(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/octet-stream');
    res.end(Buffer.concat(chunks));
  });
}

module.exports = { handler, BIG, HELLO, HELLO_TYPE };

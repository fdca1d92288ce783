'use strict';

// The one request handler every benchmarked server runs, so that the
// servers differ only in what carries the bytes.

const BIG = Buffer.alloc(64 * 1024, 'x'); // precomputed: the case measures sending, not filling

function handler(req, res) {
  if (req.method === 'POST') return echo(req, res);
  if (req.url === '/64k') {
    res.setHeader('Content-Type', 'application/octet-stream');
    return res.end(BIG);
  }
  res.setHeader('Content-Type', 'text/plain');
  res.end('Hello World');
}

function echo(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/octet-stream');
    res.end(Buffer.concat(chunks));
  });
}

module.exports = { handler, BIG };

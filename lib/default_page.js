'use strict';

// What server_listen() serves when given no handler.
const PAGE = Buffer.from(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>node-uring</title></head>
<body>
<h1>node-uring</h1>
<p>This page is served by node-uring: an HTTP/1.1 server for Node.js whose
sockets live on io_uring, driven by a C core on a background thread.</p>
</body>
</html>
`);

function defaultPage(req, res) {
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(PAGE);
}

module.exports = { defaultPage, PAGE };

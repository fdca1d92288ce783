'use strict';

// node:http serving the static cases' files the ordinary way: stat the
// file, set Content-Type and Content-Length, pipe a read stream. No cache
// of open files or stats, as nginx runs without open_file_cache.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { pipeline } = require('node:stream');
const { serve, staticDir } = require('../lib/serve');

const TYPES = { '.html': 'text/html; charset=utf-8', '.txt': 'text/plain; charset=utf-8' };

function fail(res, status) {
  res.statusCode = status;
  res.end(http.STATUS_CODES[status]);
}

function staticHandler(root) {
  return (req, res) => {
    // normalize() resolves '..' against the url's leading '/', so the file
    // stays under root.
    let file;
    try {
      file = path.join(root, path.normalize(decodeURIComponent(req.url.split('?', 1)[0])));
      fs.stat(file, onStat); // throws at once on a NUL byte in the path
    } catch {
      fail(res, 400);
    }
    function onStat(err, stats) {
      if (err || !stats.isFile()) return fail(res, 404);
      res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
      res.setHeader('Content-Length', stats.size);
      if (req.method === 'HEAD') return res.end();
      // A client gone mid-file ends both streams; nothing else to do.
      pipeline(fs.createReadStream(file), res, () => {});
    }
  };
}

serve((port, host, options) => http.createServer(options, staticHandler(staticDir())).listen(port, host));

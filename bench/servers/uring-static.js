'use strict';

// node-uring serving the static cases' files with server.static('/', dir):
// GET and HEAD of any path are files from dir, sent without JS. Skipped,
// saying why, where server.static() does not exist (yet).
const { createServer } = require('../..');
const { serve, staticDir, Unsupported } = require('../lib/serve');

// What static() leaves to JS: other methods.
function notFound(req, res) {
  res.statusCode = 404;
  res.end();
}

serve((port, host, options) => {
  const server = createServer(options, notFound);
  if (typeof server.static !== 'function') throw new Unsupported('this node-uring has no server.static()');
  return server.static('/', staticDir()).listen(port, host);
});

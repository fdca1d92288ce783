'use strict';

// server_listen() with no handler: node-uring's built-in page on every path
// (an HTML page, not "Hello World", so only the hello cases compare).
const { server_listen } = require('../..');
const { serve } = require('../lib/serve');

serve((port, host) => server_listen(port, host));

'use strict';

// node-uring's fixed response: server.route() on every path, answered by
// the ring thread alone, no JS per request. The same bytes as the shared
// handler's hello and nginx's `return 200` (the route case).
const { createServer } = require('../..');
const { handler, HELLO, HELLO_TYPE } = require('../lib/handler');
const { serve } = require('../lib/serve');

serve((port, host, options) => createServer(options, handler)
  .route('GET', '*', { headers: { 'Content-Type': HELLO_TYPE }, body: HELLO })
  .listen(port, host));

'use strict';

// node-uring's createServer with the shared JS handler.
const { createServer } = require('../..');
const { handler } = require('../lib/handler');
const { serve } = require('../lib/serve');

serve((port, host, options) => createServer(options, handler).listen(port, host));

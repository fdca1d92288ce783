'use strict';

// node-uring's createServer with two rings (rings: 2) and the shared JS
// handler: against uring, what a second ring thread buys.
const { createServer } = require('../..');
const { handler } = require('../lib/handler');
const { serve } = require('../lib/serve');

serve((port, host, options) => createServer({ ...options, rings: 2 }, handler).listen(port, host));

'use strict';

// node:http with the same handler as the uring server: the baseline.
const http = require('node:http');
const { handler } = require('../lib/handler');
const { serve } = require('../lib/serve');

serve((port, host, options) => http.createServer(options, handler).listen(port, host));

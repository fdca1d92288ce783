'use strict';

// fastify on node-uring: the framework cases' "hello JSON" app (bench/lib/frameworks.js).
require('../lib/frameworks').serveFramework('fastify', 'uring');

'use strict';

// hono on node-uring: the framework cases' "hello JSON" app (bench/lib/frameworks.js).
require('../lib/frameworks').serveFramework('hono', 'uring');

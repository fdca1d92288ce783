'use strict';

// koa on node-uring: the framework cases' "hello JSON" app (bench/lib/frameworks.js).
require('../lib/frameworks').serveFramework('koa', 'uring');

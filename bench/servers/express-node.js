'use strict';

// express on node:http: the framework cases' "hello JSON" app (bench/lib/frameworks.js).
require('../lib/frameworks').serveFramework('express', 'node');

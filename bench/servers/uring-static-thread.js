'use strict';

// uring-static (server.static('/', dir)) with the ring on a thread of its own
// (ringThread: true), against uring-static, where the JS thread drives it.
process.env.BENCH_RING_THREAD = '1';
require('./uring-static');

'use strict';

// uring (createServer with the shared JS handler) with the ring on a thread of its own
// (ringThread: true), against uring, where the JS thread drives it.
process.env.BENCH_RING_THREAD = '1';
require('./uring');

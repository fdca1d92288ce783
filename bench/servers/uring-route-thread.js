'use strict';

// uring-route (server.route() on every path) with the ring on a thread of its own
// (ringThread: true), against uring-route, where the JS thread drives it.
process.env.BENCH_RING_THREAD = '1';
require('./uring-route');

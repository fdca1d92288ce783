'use strict';

// uring-ws (node-uring's WebSocketServer) with the ring on a thread of its
// own (ringThread: true), against uring-ws, where the JS thread drives it.
process.env.BENCH_RING_THREAD = '1';
require('./uring-ws');

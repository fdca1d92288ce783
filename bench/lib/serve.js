'use strict';

// Child-process side of a benchmarked server: listen on 127.0.0.1, tell the
// parent which port, then live until the parent goes away.

const HOST = '127.0.0.1';

// The server options the parent asks for, shared by every server so that
// they are configured alike. BENCH_KEEP_ALIVE_TIMEOUT (ms, 0 turns it off)
// lets the idle10k case keep its connections open while it measures.
function serverOptions() {
  const ms = process.env.BENCH_KEEP_ALIVE_TIMEOUT;
  return ms === undefined ? {} : { keepAliveTimeout: Number(ms) };
}

// start(port, host, options) creates a server shaped like node:http's with
// serverOptions(), starts it listening and returns it. The port comes from
// argv[2] or PORT; 0 (the default) picks a free one, which is why the ready
// message carries it.
function serve(start) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
  const server = start(port, HOST, serverOptions());
  server.on('error', (err) => {
    console.error(err.stack || err);
    process.exit(1);
  });
  server.once('listening', () => {
    const ready = { ready: true, port: server.address().port };
    if (process.send) process.send(ready);
    else console.log(`ready ${ready.port}`);
  });
  // Exit when the parent dies, even by SIGKILL, so that no server outlives
  // a bench run.
  process.on('disconnect', () => process.exit(0));
}

module.exports = { serve, serverOptions };

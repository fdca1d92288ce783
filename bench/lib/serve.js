'use strict';

// Child-process side of a benchmarked server: listen on 127.0.0.1, tell the
// parent which port, then live until the parent goes away.

const HOST = '127.0.0.1';

// start(port, host) creates a server shaped like node:http's, starts it
// listening and returns it. The port comes from argv[2] or PORT; 0 (the
// default) picks a free one, which is why the ready message carries it.
function serve(start) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
  const server = start(port, HOST);
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

module.exports = { serve };

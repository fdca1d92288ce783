'use strict';

// Child-process side of a benchmarked server: listen on 127.0.0.1, tell the
// parent which port, then live until the parent goes away.

const HOST = '127.0.0.1';

// The server options the parent asks for, shared by every server so that
// they are configured alike. BENCH_KEEP_ALIVE_TIMEOUT (ms, 0 turns it off)
// lets the idle10k case keep its connections open while it measures.
// BENCH_RING_THREAD=1, set by the *-thread servers, puts node-uring's ring
// on a thread of its own (node:http ignores the option).
function serverOptions() {
  const ms = process.env.BENCH_KEEP_ALIVE_TIMEOUT;
  const options = ms === undefined ? {} : { keepAliveTimeout: Number(ms) };
  if (process.env.BENCH_RING_THREAD === '1') options.ringThread = true;
  return options;
}

// The directory of the static cases' files, made by the bench.
function staticDir() {
  const dir = process.env.BENCH_STATIC_DIR;
  if (!dir) throw new Error('BENCH_STATIC_DIR is not set: the bench sets it for the static cases');
  return dir;
}

// Thrown by a server script that cannot run here, such as one written for
// an API that has not landed yet: serve() tells the parent why, and the
// bench skips the server instead of failing the run.
class Unsupported extends Error {}

// Sends msg to the parent (or prints it when run by hand), then calls done.
function tell(msg, done = () => {}) {
  if (process.send) process.send(msg, done);
  else {
    console.log(msg.ready ? `ready ${msg.port}` : `cannot run: ${msg.skip}`);
    done();
  }
}

// start(port, host, options) creates a server shaped like node:http's with
// serverOptions(), starts it listening and returns it, or throws
// Unsupported. check(port, host), when given, resolves null once the
// server answers as it should, or what it answered instead: then the
// server is skipped rather than measured. The port comes from argv[2] or
// PORT; 0 (the default) picks a free one, which is why the ready message
// carries it.
function serve(start, { check } = {}) {
  serveWith((port, host, options) => {
    const server = start(port, host, options);
    server.on('error', exitWith);
    return new Promise((resolve, reject) => server.once('listening', () => {
      // A node-uring server that fell back to node:http would be measured
      // under the wrong name: it fails instead (the warning said why).
      if (server.backend !== undefined && server.backend !== 'uring') {
        return reject(new Error(`node-uring is serving on its ${server.backend} backend here, not io_uring`));
      }
      resolve(server.address().port);
    }));
  }, { check });
}

// The same for a server not shaped like node:http's (uWebSockets.js):
// listen(port, host, options) resolves the port it listens on, rejects
// when it cannot, or throws Unsupported.
function serveWith(listen, { check } = {}) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
  let listening;
  try {
    listening = listen(port, HOST, serverOptions());
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    return tell({ skip: err.message }, () => process.exit(0));
  }
  listening.then((bound) => announce(bound, check), exitWith);
  // Exit when the parent dies, even by SIGKILL, so that no server outlives
  // a bench run.
  process.on('disconnect', () => process.exit(0));
}

// A server error, at start or later: the run cannot go on.
function exitWith(err) {
  console.error(err.stack || err);
  process.exit(1);
}

// Tells the parent the server is ready on port bound, once check (if any)
// is satisfied. A server that answers wrongly, or crashes while checked,
// cannot be measured: it is skipped, with why, rather than failing the run.
function announce(bound, check) {
  if (!check) return tell({ ready: true, port: bound });
  const onCrash = (err) => tell({ skip: `crashed when asked: ${err.message}` }, () => process.exit(0));
  process.once('uncaughtException', onCrash);
  check(bound, HOST).then((why) => {
    process.off('uncaughtException', onCrash);
    if (why) tell({ skip: why }, () => process.exit(0));
    else tell({ ready: true, port: bound });
  }, onCrash);
}

module.exports = { serve, serveWith, serverOptions, staticDir, Unsupported };

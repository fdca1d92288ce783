'use strict';

// `npm start`: the classic demo, server_listen(28977). SIGINT and SIGTERM
// (Ctrl-C, `docker stop`, a process manager's stop) close the server: it
// stops accepting, in-flight responses finish (drainOnClose: each
// connection closes once its responses are out), and the process exits 0.
// Connections still open after GRACE_MS are closed; a second signal
// closes them at once.
const { server_listen } = require('..');

const GRACE_MS = 5000;
const port = process.env.PORT === undefined ? 28977 : Number(process.env.PORT);
const server = server_listen(port);
// The backend is printed so that a container's log says whether io_uring
// serves or the fallback does (its one warning says why).
server.on('listening', () => {
  const backend = server.backend === 'uring' ? 'io_uring' : 'node:http';
  console.log(`http://localhost:${server.address().port} (${backend})`);
});
server.on('error', (err) => {
  console.error(err.message);
  process.exitCode = 1;
});

let stopping = false;
function stop() {
  if (stopping) {
    server.closeAllConnections();
    return;
  }
  stopping = true;
  server.drainOnClose = true;
  server.close(() => process.exit(process.exitCode ?? 0));
  setTimeout(() => server.closeAllConnections(), GRACE_MS).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

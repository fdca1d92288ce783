'use strict';

// The idle10k case's client: a child process that opens many keep-alive
// connections, sends one request on each, reads its response, then leaves
// them idle while the bench reads the server's RSS. It runs apart from the
// bench process so that its sockets and its file descriptor limit are its
// own.

const net = require('node:net');
const { fork, spawnSync } = require('node:child_process');

const SPARE_FDS = 1024; // the process's own files, on top of one per connection
const IN_FLIGHT = 256; // connections being opened at once: stays under the listen backlog
const CONNECT_TIMEOUT_MS = 60000;

// Fork options that start a node child with room for `count` sockets, by way
// of `sh -c 'ulimit -n N && exec node ...'`; or { skip: reason } when the
// hard limit does not allow N and cannot be raised.
function withFds(count) {
  const n = count + SPARE_FDS;
  const r = spawnSync('sh', ['-c', `ulimit -n ${n}`], { encoding: 'utf8' });
  if (r.status !== 0) {
    const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
    return { skip: `needs ${n} open files per process, the hard limit is ${hard} and cannot be raised (${r.stderr.trim().replace(/^.*ulimit: /, '')})` };
  }
  return { execPath: '/bin/sh', execArgv: ['-c', `ulimit -n ${n} && exec "$0" "$@"`, process.execPath] };
}

// Starts the client against 127.0.0.1:port; resolves { child, opened,
// failed, error } once every connection has had its response (or failed).
// Then child.send('count') gets back { open }: how many are still open.
function openIdle(port, count, { forkOptions, track }) {
  const child = fork(__filename, [String(port), String(count)], {
    ...forkOptions,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  track?.(child);
  return new Promise((resolve, reject) => {
    const onExit = (code, signal) => reject(new Error(`idle client exited (${code ?? signal})`));
    child.once('exit', onExit);
    child.once('message', (msg) => {
      child.off('exit', onExit);
      resolve({ child, ...msg });
    });
  });
}

// Resolves the client's answer to one request.
function ask(child, question) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(question);
  });
}

// Child side. A response is complete when its head and Content-Length
// bytes of body are in: the bench servers always send Content-Length.
function client(port, count) {
  const request = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
  const idle = new Set();
  let started = 0;
  let settled = 0;
  let failed = 0;
  let error = null;

  function openOne() {
    started++;
    let input = '';
    let done = false;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.setEncoding('latin1');
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('no response in time')));
    socket.on('data', (chunk) => {
      input += chunk;
      const end = input.indexOf('\r\n\r\n');
      if (done || end < 0) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(input.slice(0, end));
      if (length && input.length < end + 4 + Number(length[1])) return;
      if (!input.startsWith('HTTP/1.1 200')) return finish(new Error(`got ${input.split('\r\n')[0]}`));
      finish(null);
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      idle.delete(socket);
      finish(new Error('closed before its response'));
    });

    function finish(err) {
      if (done) return;
      done = true;
      socket.setTimeout(0);
      if (err) {
        failed++;
        error ??= err.message;
        socket.destroy();
      } else {
        idle.add(socket);
      }
      settled++;
      if (started < count) openOne();
      else if (settled === count) process.send({ opened: idle.size, failed, error });
    }
  }

  for (let i = 0; i < Math.min(IN_FLIGHT, count); i++) openOne();
  process.on('message', (msg) => {
    if (msg === 'count') process.send({ open: idle.size });
  });
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) client(Number(process.argv[2]), Number(process.argv[3]));

module.exports = { withFds, openIdle, ask };

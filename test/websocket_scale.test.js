'use strict';

// Many WebSocket connections at once to node-uring's WebSocketServer: all
// open together, each echoes one message, then each closes cleanly. The
// clients (the ws package) run in a child process with its file descriptor
// limit raised, as bench/lib/idle.js raises it; the server, here, needs
// one descriptor per connection too. Under ASan (npm run test:asan) fewer
// connections, for time.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { fork } = require('node:child_process');
const { once } = require('node:events');
const { WebSocketServer } = require('..');
const { startServer, cleanup, withTimeout } = require('./helpers');
const { withFds } = require('../bench/lib/idle');

const UNDER_ASAN = (process.env.LD_PRELOAD ?? '').includes('libasan');
const COUNT = UNDER_ASAN ? 2000 : 10000;
const CLIENTS = path.join(__dirname, 'fixtures', 'ws_many_clients.js');
const SPARE_FDS = 1024;
// Each step's bound, with room for a busy CI machine: on an idle one the
// whole test takes a few seconds.
const STEP_MS = UNDER_ASAN ? 60000 : 40000;

// This process's soft limit on open files (Node raises it to the hard
// limit at startup; a process cannot raise its own past that).
function openFilesLimit() {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line.split(/\s{2,}/)[1];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

describe(`WebSocketServer with ${COUNT.toLocaleString('en')} connections`, () => {
  afterEach(cleanup);

  it('holds them all open at once, echoes one message on each, and closes each cleanly', async function () {
    this.timeout(4 * STEP_MS);
    const limit = openFilesLimit();
    if (limit < COUNT + SPARE_FDS) {
      this.test.title += ` (skipped: the server's process may open ${limit} files, it needs ${COUNT + SPARE_FDS})`;
      this.skip();
    }
    const fork_ = withFds(COUNT);
    if (fork_.skip) {
      this.test.title += ` (skipped: the clients' process ${fork_.skip})`;
      this.skip();
    }
    const { server, port } = await startServer((req, res) => res.end('http'));
    const wss = new WebSocketServer({ server, path: '/scale' });
    let open = 0;
    let peak = 0;
    const closes = new Map(); // "code reason" -> count
    wss.on('connection', (ws) => {
      peak = Math.max(peak, ++open);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('close', (code, reason) => {
        open--;
        const key = `${code} ${reason}`;
        closes.set(key, (closes.get(key) ?? 0) + 1);
      });
    });
    const child = fork(CLIENTS, [String(port), String(COUNT)], {
      execPath: fork_.execPath, execArgv: fork_.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      const step = async (what, msg) => {
        if (msg) child.send(msg);
        const [answer] = await withTimeout(once(child, 'message'), STEP_MS, what);
        return answer;
      };
      const opened = await step(`opening ${COUNT} connections`);
      assert.deepEqual(opened, { opened: COUNT, failed: 0, error: null });
      assert.equal(peak, COUNT, 'not all open at once on the server');
      assert.equal(wss.clients.size, COUNT);
      assert.deepEqual(await step('the echoes', 'echo'), { echoed: COUNT, wrong: 0 });
      assert.deepEqual(await step('the close handshakes', 'close'), { closed: COUNT, clean: COUNT });
      // The server saw each close frame, code and reason, and let go of
      // each connection.
      const deadline = Date.now() + STEP_MS;
      while (open > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual([...closes], [['1000 bye', COUNT]]);
      assert.equal(wss.clients.size, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

'use strict';

// `node bench`: node-uring, node:http and peers side by side under wrk (or
// autocannon when wrk is not installed), plus the memory that idle
// connections cost. Benchmarks are not tests: absolute numbers vary between
// runs and machines; the ratios to node:http in the same run are what we
// compare.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork } = require('node:child_process');
const { parseArgs } = require('node:util');
const { setTimeout: sleep } = require('node:timers/promises');
const { wrkVersion, wrkArgs, runWrk, parseWrk } = require('./lib/wrk');
const { autocannonVersion, autocannonSkip, runAutocannon } = require('./lib/autocannon');
const { withFds, openIdle, ask } = require('./lib/idle');
const { sampleCpu, cpuDelta, sampleMachine, otherLoad, rssMb, CLK_TCK } = require('./lib/proc');
const { medians, addRatios, table } = require('./lib/report');
const { svgChart } = require('./lib/chart');
const { nginxPath, nginxBuild, startNginx } = require('./lib/nginx');
const { HELLO, HELLO_TYPE } = require('./lib/handler');
const { uwsSource } = require('./lib/uws');
const { wsloadBinary, wsloadArgs, runWsload } = require('./lib/wsload');
const { FRAMEWORKS, POST_BODY, POST_TYPE } = require('./lib/frameworks');
const ringGroup = require('./ring');

const HOST = '127.0.0.1'; // only ever loopback
const DEFAULT_OUT = path.join(__dirname, 'results', 'latest.json');
// --quick runs are too short to keep: they go to a scratch file unless
// --out says otherwise, never over the committed results.
const QUICK_OUT = path.join(os.tmpdir(), 'node-uring-bench', 'quick.json');
// A run during which other processes used more than this many CPUs on
// average is flagged: the machine was not quiet, and a server with two
// threads takes a larger share of a contended machine than one with one.
const QUIET_OTHER_CPUS = 0.1;
const START_TIMEOUT_MS = 10000;
// For the time-left guess: server start and stop, opening and closing the
// idle connections (the load generators say their own).
const IDLE_OVERHEAD_S = 4;

// kind: which servers run the case (see SERVERS): 'hello' (Hello World,
// which uring-default's page can stand in for), 'handler' (the shared
// handler's other paths), 'route' (a fixed response), 'static' (files).
// fixedConnections: --connections leaves it alone. script is wrk's;
// pipelining and post (a body of that many bytes) say the same to
// autocannon. idle: the memory case, with its own client instead of the
// load generator. baseline: the server "vs node" divides by (default
// node). peer: a second server to compare with ("vs nginx"). fileBytes:
// the size of the file at path, made by the bench.
const CASES = {
  'hello-c50': { connections: 50, kind: 'hello' },
  'hello-c256': { connections: 256, kind: 'hello', fixedConnections: true },
  pipeline16: { connections: 50, kind: 'handler', script: 'pipeline16.lua', pipelining: 16 },
  post1k: { connections: 50, kind: 'handler', script: 'post1k.lua', post: 1024 },
  '64k': { connections: 50, kind: 'handler', path: '/64k' },
  churn: { connections: 50, kind: 'handler', headers: ['Connection: close'] },
  idle10k: { connections: 10000, kind: 'handler', idle: true, fixedConnections: true },
  route: { connections: 50, kind: 'route', peer: 'nginx' },
  'static-4k': { connections: 50, kind: 'static', path: '/4k.bin', fileBytes: 4096, baseline: 'node-static', peer: 'nginx' },
  // Fewer connections: each response is 1 MiB, and 50 would only queue.
  'static-1m': {
    connections: 16, kind: 'static', path: '/1m.bin', fileBytes: 1 << 20, baseline: 'node-static', peer: 'nginx',
    fixedConnections: true,
  },
  // The frameworks: the same "hello JSON" app (bench/lib/frameworks.js) in
  // each framework, on node-uring and on node:http; each server's ratio is
  // to the same framework on node:http (its SERVERS baseline).
  json: { connections: 50, kind: 'framework', path: '/json' },
  'json-post': {
    connections: 50, kind: 'framework', path: '/json', script: 'json-post.lua', post: POST_BODY, postType: POST_TYPE,
  },
  // WebSockets, under bench/wsload (ws: its mode): each server's ratio is
  // to the ws package on node:http ("vs ws"), and to uWebSockets.js ("vs
  // uws"). 32-byte text messages. ws-broadcast: 1,000 subscribers and one
  // publisher keeping at most window messages not yet delivered to every
  // subscriber; its rate is of deliveries.
  'ws-echo': { connections: 100, kind: 'ws', ws: 'echo', fixedConnections: true, baseline: 'ws', rival: 'uws-ws' },
  'ws-echo-pipelined': {
    connections: 100, kind: 'ws', ws: 'pipelined', depth: 16, fixedConnections: true, baseline: 'ws', rival: 'uws-ws',
  },
  'ws-broadcast': {
    connections: 1000, kind: 'ws', ws: 'broadcast', window: 16, fixedConnections: true, baseline: 'ws', rival: 'uws-ws',
  },
  // The ring group: Ring against fs.promises, no server, no load generator.
  'ring-random4k': { ring: 'random4k', fixedConnections: true },
  'ring-smallfiles': { ring: 'smallfiles', fixedConnections: true },
};

// Who runs the ring group's cases: bench/ring.js with Ring, and with
// fs.promises, the baseline.
const RING_IMPLS = ['ring', 'fs'];

// Each server is bench/servers/<name>.js, unless it has a start function
// (nginx is not a node script); cases: the kinds of case it runs.
const HANDLER_CASES = ['hello', 'handler'];
const SERVERS = {
  uring: { cases: HANDLER_CASES, about: 'createServer with a JS handler' },
  'uring-thread': { cases: HANDLER_CASES, about: 'the same with ringThread: true (the ring on a thread of its own)' },
  'uring-rings2': { cases: ['hello'], about: 'the same with rings: 2 (two ring threads)' },
  'uring-default': { cases: ['hello'], about: "server_listen's built-in page, no handler" },
  'uring-route': { cases: ['route'], about: "server.route('GET', '*', Hello World): the ring answers, no JS" },
  'uring-route-thread': { cases: ['route'], about: 'the same on a ring thread (ringThread: true)' },
  'uring-static': { cases: ['static'], about: "server.static('/', dir) (skipped where it does not exist)" },
  'uring-static-thread': { cases: ['static'], about: 'the same on a ring thread (ringThread: true)' },
  node: { cases: [...HANDLER_CASES, 'route'], about: 'node:http with the same handler as uring' },
  'node-static': { cases: ['static'], about: 'node:http with fs.stat and fs.createReadStream' },
  fastify: { cases: HANDLER_CASES, about: 'fastify with the same routes (a devDependency; skipped when not installed)' },
  uws: { cases: HANDLER_CASES, about: 'uWebSockets.js with the same routes (BENCH_UWS=DIR; skipped when not there)' },
  ...frameworkServers(),
  'uring-ws': {
    cases: ['ws'],
    about: "node-uring's WebSocketServer: echo; ws.subscribe and wss.publish (skipped in ws-broadcast without wss.publish)",
    skipCase: (kase) => (kase.ws === 'broadcast' ? publishMissing() : null),
  },
  'uring-ws-thread': {
    cases: ['ws'],
    about: 'the same on a ring thread (ringThread: true)',
    skipCase: (kase) => (kase.ws === 'broadcast' ? publishMissing() : null),
  },
  ws: { cases: ['ws'], about: 'the ws package on node:http: echo; broadcast by a loop over the subscribers' },
  'uws-ws': { cases: ['ws'], about: 'uWebSockets.js app.ws: echo; ws.subscribe and app.publish (BENCH_UWS=DIR, as uws)' },
  nginx: {
    cases: ['route', 'static'],
    about: 'nginx, one process: return 200 Hello World, and the files (skipped when not installed)',
    start: ({ staticDir }) => startNginx({ body: HELLO, type: HELLO_TYPE, staticDir, track, timeoutMs: START_TIMEOUT_MS }),
  },
};

// Why node-uring cannot run ws-broadcast yet, or null: its broadcast server
// needs wss.publish (pub/sub framed once on the ring thread), and a JS loop
// under node-uring's name would measure something else.
function publishMissing() {
  const { WebSocketServer } = require('..');
  return typeof WebSocketServer.prototype.publish === 'function' ? null
    : "node-uring's WebSocketServer has no publish() yet (pub/sub in C), and a JS loop over its sockets is not what" +
      ' the case measures';
}

// <framework>-uring and <framework>-node for each framework of the
// framework cases; -uring's baseline is -node ("vs node" is over the same
// framework on node:http).
function frameworkServers() {
  const servers = {};
  for (const name of FRAMEWORKS) {
    servers[`${name}-uring`] = {
      cases: ['framework'], baseline: `${name}-node`,
      about: `${name}'s hello JSON app on node-uring (skipped when it is not installed or answers wrongly)`,
    };
    servers[`${name}-node`] = {
      cases: ['framework'], baseline: `${name}-node`, about: `the same on node:http`,
    };
  }
  return servers;
}

const USAGE = `Usage: node bench [options]

Runs each server in its own process on ${HOST} under wrk (-t1), or
autocannon when wrk is not on PATH, for each case, repeat and server in
turn, and prints medians over the repeats. Progress goes to stderr.

Options:
  --quick            1 s runs, 1 repeat, 0.5 s warm-up
  --duration N       seconds measured per run, and seconds idle10k holds its
                     connections idle before reading RSS (whole seconds;
                     default 5)
  --repeat N         runs per case and server (default 3)
  --connections N    connections for the c=50 cases (default 50)
  --cases a,b        cases to run (default all): ${Object.keys(CASES).join(', ')}
  --servers a,b      servers to run (default all): ${Object.keys(SERVERS).join(', ')}
  --json             print the results as JSON instead of the table
  --out FILE         where to write the raw results (default
                     ${path.relative(process.cwd(), DEFAULT_OUT)}, or
                     ${QUICK_OUT} with --quick), and beside
                     it the chart: same name, .svg
  --help             this text

Servers, and the cases they run:
${Object.entries(SERVERS).map(([name, { about, cases }]) => `  ${name.padEnd(13)} ${about}\n` +
  `  ${''.padEnd(13)} (${Object.keys(CASES).filter((c) => cases.includes(CASES[c].kind)).join(', ')})`).join('\n')}

route, static-4k and static-1m also compare with nginx ("vs nginx"), run as
one process (master_process off) on ${HOST}, with sendfile, tcp_nopush,
keepalive_requests 100000 (its default of 1000 would close wrk's
connections) and no access log; skipped when nginx is not installed
(apt-get install nginx-light). BENCH_NGINX=FILE runs another nginx binary.
The handler cases (hello-c50, hello-c256, pipeline16, post1k, 64k, churn,
idle10k) also compare with uWebSockets.js ("vs uws", "CPU vs uws"), loaded
from BENCH_UWS=DIR (a folder with its uws.js), else shared/peers/uws beside
the checkout or a folder above it, else the npm package uwebsockets;
skipped, saying so, when none is there or its binary does not load.

Each measured run also records the load average and how many CPUs' worth
of work other processes did meanwhile (the machine's busy time less the
server's, wrk's and the bench's); a run where that exceeds
${QUIET_OTHER_CPUS} is marked "!" in the table and busy in the JSON.

The static cases fetch a 4 KiB or a 1 MiB file written to a temporary
directory; there "vs node" is over node-static, and the table adds MiB/s.

json and json-post run the same "hello JSON" app (GET /json answers a small
JSON object; POST /json echoes a small JSON body it parsed) in Express, Koa,
Fastify and Hono, each on node-uring (<framework>-uring) and on node:http
(<framework>-node); their "vs node" is over the same framework on
node:http. A framework that is not installed, does not start, or answers
either route wrongly is skipped, saying why.

The ring group (ring-random4k, ring-smallfiles) runs the Ring API against
fs.promises, not servers: random 4 KiB reads from one 64 MiB file (page
cache warm), 64 in flight, Ring#read vs FileHandle#read; and whole 4 KiB
files read 32 at once, open/read/close vs fs.promises.readFile. Its table
gives operations per second, CPU µs per operation and the ratio to
fs.promises. The files go to a temporary directory, removed afterwards.

ws-echo, ws-echo-pipelined and ws-broadcast load WebSocket servers with the
project's own client, bench/wsload/wsload.c (C, epoll, one thread; built
with cc into ${path.join(os.tmpdir(), 'node-uring-bench')} when missing), 32-byte text messages:
ws-echo, 100 connections each sending one and waiting for its echo;
ws-echo-pipelined, the same with 16 in flight on each; ws-broadcast, 1,000
subscriber connections that only read and one publisher connection whose
messages the server sends to all of them. The publisher keeps at most 16
messages not yet delivered to every subscriber (confirmed when the last
subscriber has it), so the rate, deliveries to subscribers per second, is
what a server sustains to all of them with bounded queues; a message a
subscriber missed is counted lost, an error. Servers: uring-ws
(node-uring's WebSocketServer; broadcast by ws.subscribe and wss.publish,
skipped in ws-broadcast until node-uring has wss.publish), ws (the ws
package on node:http; broadcast by a loop over its subscribers), uws-ws
(uWebSockets.js app.ws with ws.subscribe and app.publish). Their table
gives messages/s, latency from send to echo or delivery, CPU µs per
message, RSS, "vs ws" (messages/s over ws's) and "vs uws" (over
uWebSockets.js's); "CPU vs uws" is CPU µs/msg over its, lower is better;
"client CPUs" is wsload's own CPU over the window (near 1.0 it, not the
server, was the limit).

Columns: req/s and latency from the load generator; RSS after the run; CPU
µs per request of the whole server process and of its busiest thread (from
/proc/<pid>/stat, over the measured window); "vs node" is req/s over
node:http's; "projected" is node's busiest-thread µs/req over this server's,
the ratio to expect if every server thread had a core of its own.

idle10k measures memory, not speed: a client process opens 10,000
keep-alive connections, one request each, and leaves them idle (servers get
keepAliveTimeout 0 for it); its table gives the server's RSS then, and "RSS
vs node" is RSS over node:http's, where lower is better. It needs a file
descriptor limit above 10,000 (raised with ulimit when the hard limit
allows) and is skipped, saying why, otherwise.

Writes every raw number to the --out file and a chart of the ratios beside
it. Needs wrk (apt-get install wrk) or autocannon (npm install; a
devDependency, which cannot run churn).`;

function usageError(message) {
  console.error(`node bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function positiveInt(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) usageError(`--${name} wants a whole number above 0, not "${text}"`);
  return n;
}

// Names from a comma list, each one of known's keys.
function pick(name, text, known) {
  if (text === undefined) return Object.keys(known);
  const names = text.split(',').filter(Boolean);
  for (const n of names) if (!(n in known)) usageError(`unknown ${name} "${n}"`);
  return names;
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        duration: { type: 'string' },
        repeat: { type: 'string' },
        connections: { type: 'string' },
        cases: { type: 'string' },
        servers: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = Boolean(values.quick);
  return {
    quick,
    duration: values.duration ? positiveInt('duration', values.duration) : quick ? 1 : 5,
    repeat: values.repeat ? positiveInt('repeat', values.repeat) : quick ? 1 : 3,
    warmup: quick ? 0.5 : 1,
    connections: values.connections ? positiveInt('connections', values.connections) : 50,
    cases: pick('case', values.cases, CASES),
    servers: pick('server', values.servers, SERVERS),
    json: Boolean(values.json),
    out: path.resolve(values.out ?? (quick ? QUICK_OUT : DEFAULT_OUT)),
  };
}

// Every child we started, so that exit, errors and Ctrl-C kill them.
const children = new Set();

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll() {
  for (const child of children) child.kill('SIGKILL');
}

// The load generator: wrk when it is on PATH, else autocannon when it is
// installed, else null. run(kase, url, seconds, { warmup }) resolves wrk's
// numbers (see parseWrk); skip(kase) says why it cannot run a case, or null.
function loadGenerator() {
  const wrk = wrkVersion();
  if (wrk) {
    return {
      name: wrk,
      overheadS: 0.5, // server start and stop
      skip: () => null,
      // wrk's -d takes whole seconds: a shorter warm-up is cut with SIGINT.
      run: (kase, url, seconds, { warmup } = {}) => warmup
        ? runWrk(wrkArgs(kase, url, Math.ceil(seconds)), { stopAfterMs: seconds * 1000, track })
        : runWrk(wrkArgs(kase, url, seconds), { track }).then(parseWrk),
    };
  }
  const autocannon = autocannonVersion();
  if (autocannon) {
    return {
      name: autocannon,
      overheadS: 1.5, // and two node processes that load autocannon
      skip: autocannonSkip,
      run: (kase, url, seconds) => runAutocannon(kase, url, seconds, { track }),
    };
  }
  return null;
}

// An error of a server that did not start: code ERR_BENCH_SKIP when it
// said it cannot run here (runAll skips it from then on), else
// ERR_BENCH_START (runAll drops it from that case and reports it failed).
function startError(code, message) {
  return Object.assign(new Error(message), { code });
}

// Starts a server on a free loopback port and resolves { child, port } once
// it listens; child is the process that serves, whose /proc the bench
// reads. staticDir: the static cases' files; env adds to the environment
// of a node server; forkOptions come from withFds.
async function startServer(name, { staticDir, env, forkOptions } = {}) {
  const { start } = SERVERS[name];
  if (!start) {
    const staticEnv = staticDir ? { BENCH_STATIC_DIR: staticDir } : {}; // read by staticDir() in lib/serve.js
    return forkServer(name, { env: { ...env, ...staticEnv }, forkOptions });
  }
  try {
    return await start({ staticDir });
  } catch (err) {
    throw startError('ERR_BENCH_START', `server ${name}: ${err.message}`);
  }
}

// Forks bench/servers/<name>.js (see bench/lib/serve.js) and waits for its
// message: ready with its port, or why it cannot run.
function forkServer(name, { env, forkOptions }) {
  const child = track(fork(path.join(__dirname, 'servers', `${name}.js`), ['0'], {
    ...forkOptions,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('ERR_BENCH_START', `server ${name} did not start in ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    // 'close', not 'exit': it comes after the IPC channel closes, so after
    // any message the server sent before exiting (a skip).
    const onExit = (code, signal) => fail('ERR_BENCH_START', `server ${name} exited (${code ?? signal}) before listening`);
    function fail(code, message) {
      clearTimeout(timer);
      child.off('close', onExit);
      child.kill('SIGKILL');
      reject(startError(code, message));
    }
    child.once('close', onExit);
    child.once('message', (msg) => {
      clearTimeout(timer);
      child.off('close', onExit);
      if (msg?.ready) resolve({ child, port: msg.port });
      else if (msg?.skip) fail('ERR_BENCH_SKIP', msg.skip);
      else fail('ERR_BENCH_START', `server ${name} said ${JSON.stringify(msg)}`);
    });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGKILL'); // its numbers are taken; nothing to wind down
  });
}

// How quiet the machine was over a measured window: what other processes
// did (see otherLoad; usedUs is the CPU the server and a live load
// generator used), the load average either side, and whether that makes
// the run busy.
function quietness(machineBefore, machineAfter, usedUs, wallUs, loadBefore) {
  const others = otherLoad(machineBefore, machineAfter, usedUs, wallUs);
  return { ...others, loadBefore, loadAfter: os.loadavg()[0], busy: others.otherCpus > QUIET_OTHER_CPUS };
}

// One measured run of one server in one case: fresh process, warm-up,
// then the load generator for the duration with /proc sampled either side.
async function measure(kase, server, opts) {
  if (kase.idle) return measureIdle(kase, server, opts);
  if (kase.ws) return measureWs(kase, server, opts);
  if (kase.ring) return measureRing(kase, server, opts);
  const { child, port } = await startServer(server, { staticDir: opts.staticDir });
  try {
    const url = `http://${HOST}:${port}`;
    await opts.load.run(kase, url, opts.warmup, { warmup: true });
    const loadBefore = os.loadavg()[0];
    const machineBefore = sampleMachine();
    const before = sampleCpu(child.pid);
    const t0 = process.hrtime.bigint();
    const load = await opts.load.run(kase, url, opts.duration);
    const cpu = cpuDelta(before, sampleCpu(child.pid));
    const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
    const requests = load.requests || NaN;
    return {
      ...load,
      rssMb: rssMb(child.pid),
      ...cpu,
      ...quietness(machineBefore, sampleMachine(), cpu.totalUs, wallUs, loadBefore),
      cpuUsPerReq: cpu.totalUs / requests,
      busiestUsPerReq: cpu.busiestUs / requests,
    };
  } finally {
    await stop(child);
  }
}

// One run of a WebSocket case: fresh server, then wsload (see
// bench/lib/wsload.js), which warms up itself; CPU, of the server and of
// wsload (which is no reaped child of the bench when the machine is
// sampled), is read from /proc when its measured window starts and ends.
async function measureWs(kase, server, opts) {
  const { child, port } = await startServer(server, { forkOptions: kase.fork });
  try {
    let at = null; // the samples at the window's start
    let end = null;
    const result = await runWsload(opts.wsload.path, wsloadArgs(kase, port, opts), {
      track,
      onMeasuring: (client) => {
        at = {
          loadBefore: os.loadavg()[0], machine: sampleMachine(), server: sampleCpu(child.pid),
          client: sampleCpu(client.pid), t0: process.hrtime.bigint(),
        };
      },
      onResult: (_, client) => {
        if (!at) return;
        end = {
          server: cpuDelta(at.server, sampleCpu(child.pid)), client: cpuDelta(at.client, sampleCpu(client.pid)),
          machine: sampleMachine(), rssMb: rssMb(child.pid),
        };
        end.wallUs = Number(process.hrtime.bigint() - at.t0) / 1e3;
      },
    });
    if (!end) throw startError('ERR_BENCH_RUN', `server ${server}: wsload: ${result.firstError}`);
    const cpu = end.server;
    const messages = result.messages || NaN;
    return {
      messagesPerSec: result.messagesPerSec,
      messages: result.messages,
      published: result.published,
      seconds: result.seconds,
      p50: result.p50Ms ?? NaN,
      p99: result.p99Ms ?? NaN,
      errors: result.errors,
      lost: result.lost,
      firstError: result.firstError,
      rssMb: end.rssMb,
      ...cpu,
      clientCpus: end.client.totalUs / end.wallUs,
      ...quietness(at.machine, end.machine, cpu.totalUs + end.client.totalUs, end.wallUs, at.loadBefore),
      cpuUsPerMsg: cpu.totalUs / messages,
      busiestUsPerMsg: cpu.busiestUs / messages,
    };
  } finally {
    await stop(child);
  }
}

// The memory case: the server's RSS once kase.connections keep-alive
// connections have had a response each and then sat idle for the duration.
// The server runs with keepAliveTimeout 0 so that none is closed meanwhile.
async function measureIdle(kase, server, opts) {
  const forkOptions = opts.idleFork;
  const { child, port } = await startServer(server, { env: { BENCH_KEEP_ALIVE_TIMEOUT: '0' }, forkOptions });
  try {
    const rssBeforeMb = rssMb(child.pid);
    const client = await openIdle(port, kase.connections, { forkOptions, track });
    try {
      await sleep(opts.duration * 1000);
      const rss = rssMb(child.pid);
      const { open } = await ask(client.child, 'count');
      return {
        rssMb: rss,
        rssBeforeMb,
        open,
        failed: client.failed,
        error: client.error,
        kbPerConn: ((rss - rssBeforeMb) * 1024) / open,
      };
    } finally {
      await stop(client.child);
    }
  } finally {
    await stop(child);
  }
}

// One run of the ring group: bench/ring.js in a child, which warms up, says
// start, runs for the duration and sends { ops, seconds }; its CPU time is
// read from /proc on either side of the measured window.
function measureRing(kase, impl, opts) {
  const args = [kase.ring, impl, opts.ringDir, String(opts.duration), String(opts.warmup)];
  const child = track(fork(path.join(__dirname, 'ring.js'), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  return new Promise((resolve, reject) => {
    let before = null;
    const onExit = (code, signal) => reject(new Error(`bench/ring.js ${args.join(' ')} exited (${code ?? signal})`));
    child.on('message', (msg) => {
      if (msg.start) {
        before = sampleCpu(child.pid);
        return;
      }
      const cpu = cpuDelta(before, sampleCpu(child.pid));
      const { ops, seconds } = msg.result;
      const run = { ops, seconds, opsPerSec: ops / seconds, rssMb: rssMb(child.pid), ...cpu, cpuUsPerOp: cpu.totalUs / ops };
      child.off('exit', onExit);
      stop(child).then(() => resolve(run));
    });
    child.once('exit', onExit);
  });
}

// Every (case, repeat, server) run in order: servers interleave within a
// repeat so that drift on the machine hits them all alike. Also what is
// skipped and why: { case } or { server } and reason.
function plan(opts) {
  const runs = [];
  const skipped = [];
  const servers = opts.servers.filter((server) => {
    const reason = opts.unavailable[server];
    if (reason) skipped.push({ server, reason });
    return !reason;
  });
  for (const name of opts.cases) {
    const kase = { name, ...CASES[name] };
    if (!kase.fixedConnections) kase.connections = opts.connections;
    if (kase.ws) kase.fork = withFds(kase.connections + 1);
    const reason = kase.ring ? null : kase.idle ? opts.idleFork.skip : kase.ws ? opts.wsload.skip ?? kase.fork.skip
      : opts.load.skip(kase);
    if (reason) {
      skipped.push({ case: name, reason });
      continue;
    }
    const these = kase.ring ? RING_IMPLS : servers.filter((s) => {
      if (!SERVERS[s].cases.includes(kase.kind)) return false;
      const why = SERVERS[s].skipCase?.(kase);
      if (why) skipped.push({ case: name, server: s, reason: why });
      return !why;
    });
    if (these.length === 0) {
      const which = Object.keys(SERVERS).filter((s) => SERVERS[s].cases.includes(kase.kind));
      skipped.push({ case: name, reason: `none of its servers is there or asked for (it runs ${which.join(', ')})` });
      continue;
    }
    for (let repeat = 1; repeat <= opts.repeat; repeat++) {
      for (const server of these) runs.push({ kase, server, repeat });
    }
  }
  return { runs, skipped };
}

function formatSeconds(s) {
  s = Math.round(s);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

// Seconds a run should take, for the time-left guess.
function guess({ kase }, opts) {
  if (kase.ring) return opts.warmup + opts.duration + 0.3;
  if (kase.ws) return opts.warmup + opts.duration + 1; // server start, handshakes, closes
  return kase.idle ? opts.duration + IDLE_OVERHEAD_S : opts.warmup + opts.duration + opts.load.overheadS;
}

// Runs every run in turn; resolves the results, each with the medians and
// ratios of its runs. A server that does not start is not measured again:
// in any case when it said it cannot run here (pushed to skipped), in that
// case otherwise (pushed to failed).
async function runAll(runs, opts, { skipped, failed }) {
  const results = new Map(); // "case server" -> { case, server, connections, ratioOf, baseline, peer, runs }
  const guesses = runs.map((run) => guess(run, opts));
  const dropped = new Set(); // servers, and "case server" keys, not to run again
  const isDropped = (run) => dropped.has(run.server) || dropped.has(`${run.kase.name} ${run.server}`);
  let guessed = 0; // the guesses of the runs measured so far, in seconds
  let spent = 0; // and the seconds they took
  for (const [i, { kase, server, repeat }] of runs.entries()) {
    if (isDropped(runs[i])) continue;
    const key = `${kase.name} ${server}`;
    // What is left, as guessed, scaled by how the guesses did so far.
    const scale = guessed ? spent / guessed : 1;
    const left = runs.slice(i).reduce((sum, r, j) => sum + (isDropped(r) ? 0 : guesses[i + j]), 0) * scale;
    console.error(`[${i + 1}/${runs.length}] ${kase.name} ${server} repeat ${repeat}/${opts.repeat}` +
      ` (~${formatSeconds(left)} left)`);
    const t0 = Date.now();
    let run;
    try {
      run = await measure(kase, server, opts);
    } catch (err) {
      if (err.code === 'ERR_BENCH_SKIP') {
        console.error(`  skipping server ${server}: ${err.message}`);
        skipped.push({ server, reason: err.message });
        dropped.add(server);
      } else if (err.code === 'ERR_BENCH_START' || err.code === 'ERR_BENCH_RUN') {
        console.error(`  ${err.message}; not measured in ${kase.name}`);
        failed.push({ case: kase.name, server, reason: err.message });
        dropped.add(key);
      } else {
        throw err;
      }
      continue;
    }
    spent += (Date.now() - t0) / 1000;
    guessed += guesses[i];
    if (run.non2xx || run.socketErrors) {
      console.error(`  warning: ${run.non2xx} non-2xx responses, ${run.socketErrors} socket errors`);
    }
    if (run.errors) console.error(`  warning: ${run.errors} errors (${run.lost} messages lost), first: ${run.firstError}`);
    if (kase.idle && run.open < kase.connections) {
      console.error(`  warning: ${run.open} of ${kase.connections} connections open at the end` +
        ` (${run.failed} failed${run.error ? `, first: ${run.error}` : ''})`);
    }
    if (!results.has(key)) {
      const ratioOf = kase.ring ? 'ops' : kase.idle ? 'rss' : kase.ws ? 'msgs' : 'rps';
      const baseline = kase.ring ? 'fs' : SERVERS[server]?.baseline ?? kase.baseline ?? 'node';
      results.set(key, {
        case: kase.name, server, connections: kase.connections, ratioOf, baseline, peer: kase.peer ?? null,
        rival: kase.rival ?? null,
        framework: kase.kind === 'framework', runs: [],
      });
    }
    results.get(key).runs.push(run);
  }
  const list = [...results.values()];
  for (const r of list) r.median = medians(r.runs, r.ratioOf);
  addRatios(list);
  return list;
}

function machine() {
  return {
    cpu: os.cpus()[0]?.model,
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    kernel: os.release(),
    node: process.version,
    clkTck: CLK_TCK,
  };
}

// Servers that cannot run here, with why. Loading fastify, not only
// finding it, also catches a fastify too new for this Node.
function unavailableServers() {
  const unavailable = {};
  try {
    require('fastify');
  } catch (err) {
    unavailable.fastify = err.code === 'MODULE_NOT_FOUND'
      ? 'fastify is not installed (npm install adds it: it is a devDependency)'
      : `fastify does not load here: ${err.message.split('\n')[0]}`;
  }
  const uws = uwsSource();
  if (uws.missing) unavailable.uws = unavailable['uws-ws'] = uws.missing;
  try {
    require.resolve('ws');
  } catch {
    unavailable.ws = 'the ws package is not installed (npm install adds it: it is a devDependency)';
  }
  if (!nginxPath()) {
    unavailable.nginx = process.env.BENCH_NGINX === undefined
      ? 'nginx is not installed (apt-get install nginx-light)'
      : `BENCH_NGINX=${process.env.BENCH_NGINX} is not an executable file`;
  }
  return unavailable;
}

// The static cases' files, in a new temporary directory: returns it.
function writeStaticFiles(caseNames) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-bench-static-'));
  for (const { path: url, fileBytes } of caseNames.map((n) => CASES[n]).filter((k) => k.fileBytes)) {
    fs.writeFileSync(path.join(dir, url), Buffer.alloc(fileBytes, 'x'));
  }
  return dir;
}

// What a skipped entry skips: a case, a server, or a server in one case.
function skipWhat(kase, server) {
  if (kase && server) return `server ${server} in case ${kase}`;
  return kase ? `case ${kase}` : `server ${server}`;
}

function notesFor(opts, results, skipped, failed) {
  const notes = skipped.map(({ case: kase, server, reason }) => `${skipWhat(kase, server)} skipped: ${reason}.`);
  for (const { case: kase, reason } of failed) notes.push(`In ${kase}, ${reason}: not measured.`);
  if (opts.load.name.startsWith('autocannon') && results.some((r) => r.ratioOf === 'rps')) {
    notes.push('autocannon, one Node process, sends fewer requests than wrk: fast servers may wait on it, which' +
      ' shrinks their ratios; it reports latency in whole milliseconds.');
  }
  if (results.some((r) => r.server === 'uring-default')) {
    notes.push('uring-default serves its built-in HTML page, not "Hello World", and runs the hello cases only.');
  }
  if (results.some((r) => r.framework)) {
    notes.push('In json and json-post, "vs node:http" is over the same framework on node:http (express-uring over express-node).');
  }
  if (results.some((r) => r.baseline === 'node-static')) {
    notes.push('In the static cases "vs node" is over node-static (node:http, fs.stat, fs.createReadStream).');
  }
  if (results.some((r) => r.server === 'nginx')) {
    notes.push(`${nginxBuild(nginxPath()).version} ran as one process (master_process off): sendfile, tcp_nopush,` +
      ' keepalive_requests 100000, no access log, no open_file_cache.');
  }
  if (results.some((r) => r.runs.some((run) => Number.isNaN(run.p50) || Number.isNaN(run.p99)))) {
    notes.push('wrk printed 0 for some latency percentiles (its histogram bug with pipelining, wg/wrk#236);' +
      ' those runs are left out of the latency medians, "-" where none was left.');
  }
  if (results.some((r) => r.server === 'uws')) {
    notes.push('"vs uws" is req/s over uWebSockets.js\'s in the same case (RSS over its in idle10k), "CPU vs uws"' +
      ' CPU µs/req over its: lower is better. uWS closes HTTP connections idle for 10 s whatever the server options.');
  }
  if (results.some((r) => r.ratioOf === 'msgs')) {
    notes.push('In the ws-* cases "vs ws" is messages/s over the ws package\'s on node:http, "vs uws" over' +
      ' uWebSockets.js\'s and "CPU vs uws" CPU µs/msg over its (lower is better); ws-broadcast counts deliveries,' +
      ' the publisher keeping at most 16 messages not yet at every subscriber.');
  }
  // In the table's notes too, not only on stderr: a server that fails
  // requests is not measured, whatever its req/s (an express-uring that
  // cut its connections went unseen so).
  const failing = results.map((r) => ({
    r,
    non2xx: (r.runs ?? []).reduce((n, run) => n + (run.non2xx || 0), 0),
    socketErrors: (r.runs ?? []).reduce((n, run) => n + (run.socketErrors || 0), 0),
  })).filter((f) => f.non2xx > 0 || f.socketErrors > 0);
  if (failing.length) {
    notes.push(`Errors: ${failing.map((f) => `${f.r.case} ${f.r.server}: ${f.non2xx} non-2xx responses,` +
      ` ${f.socketErrors} socket errors`).join('; ')}. Those runs are not comparable.`);
  }
  const busy = results.filter((r) => r.busy);
  if (busy.length) {
    notes.push(`The machine was not quiet: in the runs marked "!" (${busy.map((r) => `${r.case} ${r.server}`).join(', ')})` +
      ` other processes used more than ${QUIET_OTHER_CPUS} CPU on average (otherCpus in the JSON). Ratios taken on a` +
      ' busy machine favour servers with more threads; run again with nothing else running.');
  }
  if (results.some((r) => r.ratioOf === 'rss')) {
    notes.push(`${results.find((r) => r.ratioOf === 'rss').case} measures memory: its ratio is RSS over node:http's, lower is better.`);
  }
  return notes;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  opts.load = loadGenerator() ?? { name: 'none', overheadS: 0, skip: () => 'neither wrk nor autocannon is installed' };
  opts.unavailable = unavailableServers();
  opts.idleFork = withFds(CASES.idle10k.connections);
  const wsCases = opts.cases.filter((n) => CASES[n].ws);
  opts.wsload = wsCases.length ? wsloadBinary() : {};
  const { runs, skipped } = plan(opts);
  const failed = [];
  if (opts.load.name === 'none' && opts.cases.some((n) => !CASES[n].idle && !CASES[n].ring && !CASES[n].ws)) {
    console.error('node bench: neither wrk nor autocannon is there; install wrk (apt-get install wrk), or run npm install');
    process.exit(1);
  }
  for (const { case: kase, server, reason } of skipped) console.error(`skipping ${skipWhat(kase, server)}: ${reason}`);
  if (runs.some(({ kase }) => kase.fileBytes)) opts.staticDir = writeStaticFiles(opts.cases);
  if (runs.some(({ kase }) => kase.ring)) {
    opts.ringDir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-bench-'));
    console.error('ring group: writing a 64 MiB file and 256 small ones to read');
    ringGroup.prepareFiles(opts.ringDir);
  }
  const started = new Date();
  let results;
  try {
    results = await runAll(runs, opts, { skipped, failed });
  } finally {
    for (const dir of [opts.ringDir, opts.staticDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
  const notes = notesFor(opts, results, skipped, failed);
  const { load, unavailable, idleFork, wsload, ringDir, staticDir, ...flags } = opts;
  const report = {
    date: started.toISOString(),
    flags: { argv: process.argv.slice(2), ...flags },
    loadGenerator: load.name,
    machine: machine(),
    cases: Object.fromEntries(opts.cases.map((n) => [n, CASES[n]])),
    wsload: wsCases.length ? wsload.path ?? null : undefined,
    skipped,
    failed,
    quiet: !results.some((r) => r.busy),
    notes,
    results,
  };
  const svg = path.format({ dir: path.dirname(opts.out), name: path.parse(opts.out).name, ext: '.svg' });
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(svg, svgChart(report));
  if (opts.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(table(results));
    console.log(notes.map((note) => `\nNote: ${note}`).join(''));
    console.log(`${load.name}; ${report.machine.cpu}, ${report.machine.nproc} CPUs, Linux ${report.machine.kernel}; ` +
      `medians of ${opts.repeat} x ${opts.duration} s. Raw numbers: ${path.relative(process.cwd(), opts.out)}; ` +
      `chart: ${path.relative(process.cwd(), svg)}`);
  }
  // A server that crashed or hung at start is a bug to see, even though the
  // others' numbers are written.
  if (failed.length) process.exitCode = 1;
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

main().catch((err) => {
  console.error(`node bench: ${err.stack || err}`);
  killAll();
  process.exitCode = 1;
});

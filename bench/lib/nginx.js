'use strict';

// nginx as a peer in `node bench`: a config written to a temporary
// directory, then nginx in the foreground on a free loopback port.
//
// It runs as ONE process (`master_process off`): the process the bench
// starts is the one that accepts and serves, so /proc/<pid> holds all of
// nginx's CPU time and RSS, as it does for the node servers; with a master
// and one worker, the bench would sample the idle master unless it went
// looking for the worker (and, run as root, the worker would switch to
// user nobody, who cannot read the bench's temporary files). Everything nginx writes (pid file, error log,
// temp files) goes to that directory, so it needs no root and touches
// neither /etc nor /var; the directory is removed when nginx exits.

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { setTimeout: sleep } = require('node:timers/promises');

const HOST = '127.0.0.1'; // only ever loopback
const POLL_MS = 20;

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// The first executable `name` on PATH, then in extra dirs; null if none.
function findExecutable(name, extra = []) {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...extra];
  return dirs.map((dir) => path.join(dir, name)).find(isExecutable) ?? null;
}

// The nginx to run, or null: BENCH_NGINX when set (not NGINX, which nginx
// itself reads: it names inherited sockets), else nginx on PATH, else in
// /usr/sbin, where Debian puts it and a user's PATH may not look.
function nginxPath() {
  const chosen = process.env.BENCH_NGINX;
  if (chosen !== undefined) return isExecutable(chosen) ? chosen : null;
  return findExecutable('nginx', ['/usr/sbin']);
}

// { version: 'nginx/1.22.1', without: Set of modules built out }, from
// `nginx -V` (on stderr).
function nginxBuild(bin) {
  const text = spawnSync(bin, ['-V'], { encoding: 'utf8' }).stderr ?? '';
  const version = /nginx version: (\S+)/.exec(text)?.[1] ?? 'nginx';
  const without = new Set([...text.matchAll(/--without-(\w+)_module/g)].map((m) => m[1]));
  return { version, without };
}

// The temp paths nginx would otherwise create under /var/lib/nginx when it
// starts, with the module each belongs to: naming a path of a module built
// out (builds may leave some out) is an "unknown directive" error.
const TEMP_PATHS = {
  client_body_temp_path: null,
  proxy_temp_path: 'http_proxy',
  fastcgi_temp_path: 'http_fastcgi',
  uwsgi_temp_path: 'http_uwsgi',
  scgi_temp_path: 'http_scgi',
};

// A string as an nginx config string. `$` would start a variable: the
// bench's bodies have none, so refuse one rather than escape it.
function quote(text) {
  if (text.includes('$')) throw new Error(`nginx config: cannot quote ${JSON.stringify(text)}`);
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

// The config: one process in the foreground, everything it writes in
// dir, and http { ...http; server { listen HOST:port; ...server } }.
// keepalive_requests is raised from nginx's default of 1000, after which it
// closes a connection: under wrk that would count reconnections against
// nginx that no other server pays for.
function nginxConfig({ dir, port, http = '', server, without = new Set() }) {
  const temps = Object.entries(TEMP_PATHS)
    .filter(([, module]) => !without.has(module))
    .map(([directive]) => `  ${directive} ${quote(path.join(dir, directive.replace(/_temp_path$/, '')))};`);
  return `# Written by node-uring (bench/lib/nginx.js) for one run.
daemon off;
master_process off;
pid ${quote(path.join(dir, 'nginx.pid'))};
error_log ${quote(path.join(dir, 'error.log'))} warn;

events {
  worker_connections 4096;
}

http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
${temps.join('\n')}
  types {}
  default_type application/octet-stream;
${http}
  server {
    listen ${HOST}:${port};
${server}  }
}
`;
}

// The bench's server block: `/` answers body with type by itself
// (`return 200`, as the uring route does); other paths are files from
// staticDir, when given.
function benchServer({ body, type, staticDir }) {
  return `    location = / {
      default_type ${type};
      return 200 ${quote(body)};
    }
${staticDir ? `    location / {\n      root ${quote(staticDir)};\n    }\n` : ''}`;
}

// A port free on the loopback address now. Another process could take it
// before nginx binds it; nginx then fails to start and says so.
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// nginx says nothing once it listens, so poll until it accepts a
// connection; reject if it is gone first (exited() says why, or null while
// it runs) or takes longer than timeoutMs.
async function untilListening(port, timeoutMs, exited) {
  const deadline = Date.now() + timeoutMs;
  while (!exited()) {
    if (await accepts(port)) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${HOST}:${port} in ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
  throw new Error(`nginx did not start: ${exited()}`);
}

// Starts nginx and resolves { child, port } once it accepts connections.
// The config is the bench's (body as type at /, staticDir's files, if
// given, elsewhere), or, given server, that server block's directives
// with http's at the http level (a reverse proxy's upstream, say).
// track(child) lets the caller kill it. Through setpriv --pdeathsig (when
// there), nginx is killed if the bench itself dies by SIGKILL, as the node
// servers exit when their IPC channel closes.
async function startNginx({ body, type, staticDir, http, server, track, timeoutMs }) {
  const bin = nginxPath();
  if (!bin) throw new Error('nginx is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-nginx-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup); // when the bench exits with nginx running
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  server ??= benchServer({ body, type, staticDir });
  fs.writeFileSync(conf, nginxConfig({ dir, port, http, server, without: nginxBuild(bin).without }));
  // -e: the error log before the config is read (Debian's is stderr, other
  // builds' a file under /var/log).
  const args = [bin, '-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')];
  const setpriv = findExecutable('setpriv');
  if (setpriv) args.unshift(setpriv, '--pdeathsig', 'KILL', '--');
  // Without NGINX in its environment: nginx would take it for inherited
  // listening sockets.
  const env = { ...process.env, NGINX: undefined };
  const child = spawn(args[0], args.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  track?.(child);
  let stderr = '';
  let gone = null; // why nginx is not running, once it is not
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.once('error', (err) => (gone = err.message));
  // 'close', not 'exit': stderr is all read by then.
  child.once('close', (code, signal) => {
    gone ??= `exited (${code ?? signal}): ${stderr.trim() || 'nothing on stderr'}`;
    process.off('exit', cleanup);
    cleanup();
  });
  try {
    await untilListening(port, timeoutMs, () => gone);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, port };
}

module.exports = { nginxPath, nginxBuild, nginxConfig, startNginx };

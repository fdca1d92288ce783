'use strict';

// `npm run test:docker`: the Dockerfile as a user runs it. Builds the image
// on a Debian 12 base made here (debootstrap from apt's Debian mirror, then
// `docker import`: there is no registry to pull one from), and runs it three
// ways: with the engine's default seccomp profile, with seccomp/io_uring.json,
// and with that profile minus the io_uring calls (what Docker Engine 25.0's
// default does). Each must serve the page on the backend that case allows
// (the fallback with its one warning), keep serving over a kept-alive
// connection, and stop at `docker stop` within 2 s with exit code 0.
// Then deploy/node-uring.service under systemd, in a container made from
// that image with Debian's systemd: it serves on io_uring with the unit's
// descriptor and locked-memory limits, and `systemctl stop` ends it with
// status 0 within 2 s.
//
// Starts Debian's dockerd when no daemon answers, and stops it at the end.
// Where no daemon can run, says why and exits 0 (skipped). The debootstrap
// rootfs is cached in /var/cache/node-uring (NODE_URING_CACHE), the base
// image and the build's layers in the engine, so a rerun takes seconds.
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { once } = require('node:events');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const seccomp = require('./seccomp-profile');

const root = path.join(__dirname, '..');
const CACHE = process.env.NODE_URING_CACHE || '/var/cache/node-uring';
const SUITE = 'bookworm';
const BASE = `node-uring/debian:${SUITE}`;
const IMAGE = 'node-uring:test';
const SYSTEMD_IMAGE = 'node-uring:test-systemd';
const UNIT = path.join(root, 'deploy', 'node-uring.service');
const DOCKERD = '/usr/sbin/dockerd';
const STOP_MS = 2000;

class Skip extends Error {}

function docker(args, opts = {}) {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }).trim();
}

function daemonAnswers() {
  return spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).status === 0;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The reason dockerd gave for not starting: its last error or fatal line.
function dockerdError(log) {
  const lines = fs.readFileSync(log, 'utf8').split('\n').filter((l) => /level=(error|fatal)|^failed|Error/.test(l));
  return lines.length ? lines[lines.length - 1] : `no error logged (see ${log})`;
}

// A running daemon: the one that answers, or Debian's dockerd started here.
// Resolves with the dockerd child process when it was started here.
async function ensureDaemon() {
  if (spawnSync('docker', ['--version']).status !== 0) throw new Skip('no docker client on PATH (apt-get install docker.io)');
  if (daemonAnswers()) return null;
  if (!fs.existsSync(DOCKERD)) throw new Skip(`no Docker daemon answers and ${DOCKERD} is missing (apt-get install docker.io)`);
  fs.mkdirSync(CACHE, { recursive: true });
  const log = path.join(CACHE, 'dockerd.log');
  const out = fs.openSync(log, 'w');
  const dockerd = spawn(DOCKERD, ['--host', 'unix:///var/run/docker.sock'], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = null;
  dockerd.on('exit', (code, signal) => { exited = signal || code; });
  for (const t0 = Date.now(); Date.now() - t0 < 30000; await sleep(250)) {
    if (exited !== null) throw new Skip(`dockerd exited (${exited}): ${dockerdError(log)}`);
    if (daemonAnswers()) {
      console.log(`started ${DOCKERD} (pid ${dockerd.pid}, log ${log})`);
      return dockerd;
    }
  }
  dockerd.kill('SIGTERM');
  throw new Skip(`dockerd did not answer within 30 s: ${dockerdError(log)}`);
}

async function stopDaemon(dockerd) {
  if (!dockerd || dockerd.exitCode !== null) return;
  const exit = once(dockerd, 'exit');
  dockerd.kill('SIGTERM');
  const timer = setTimeout(() => dockerd.kill('SIGKILL'), 20000);
  await exit;
  clearTimeout(timer);
}

// The Debian mirror apt uses here (deb.debian.org when none is found).
function debianMirror() {
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [])];
  for (const file of files.filter((f) => fs.existsSync(f))) {
    const text = fs.readFileSync(file, 'utf8');
    // one-line form: deb [opts] URI suite components
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) {
      if (m[2] === SUITE && /\/debian\/?$/.test(m[1])) return m[1];
    }
    // deb822 form: stanzas with URIs: and Suites:
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza);
      const suites = /^Suites:\s*(.+)$/m.exec(stanza);
      if (uri && suites && suites[1].split(/\s+/).includes(SUITE) && /\/debian\/?$/.test(uri[1])) return uri[1];
    }
  }
  return 'http://deb.debian.org/debian';
}

// Debian 12 minbase, made once by debootstrap and kept in CACHE.
function rootfs() {
  const dir = path.join(CACHE, `rootfs-${SUITE}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  if (spawnSync('debootstrap', ['--version']).error) throw new Skip('debootstrap is missing (apt-get install debootstrap)');
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const mirror = debianMirror();
  console.log(`debootstrap --variant=minbase ${SUITE} from ${mirror}`);
  const run = spawnSync('debootstrap', ['--variant=minbase', SUITE, tmp, mirror], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`debootstrap failed: ${(run.stdout + run.stderr).trim().split('\n').slice(-5).join('\n')}`);
  // what a registry's debian:bookworm-slim leaves out as well
  for (const sub of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const f of fs.readdirSync(path.join(tmp, sub))) {
      if (f !== 'partial' && f !== 'lock') fs.rmSync(path.join(tmp, sub, f), { recursive: true, force: true });
    }
  }
  fs.writeFileSync(path.join(tmp, '.complete'), `${mirror}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

// The base image: the rootfs with this machine's local CA certificates
// (/usr/local/share/ca-certificates), which the image's ca-certificates
// package then trusts, as a site's base image carries them: npm in the
// build reaches the registry the way this machine does.
function baseImage() {
  if (spawnSync('docker', ['image', 'inspect', BASE]).status === 0) return;
  const dir = rootfs();
  const cas = '/usr/local/share/ca-certificates';
  const target = path.join(dir, 'usr/local/share/ca-certificates');
  fs.mkdirSync(target, { recursive: true });
  if (fs.existsSync(cas)) for (const f of fs.readdirSync(cas)) fs.copyFileSync(path.join(cas, f), path.join(target, f));
  execFileSync('sh', ['-c', `tar -C "${dir}" --exclude=./.complete -c . | docker import - ${BASE}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`imported ${BASE}`);
}

function build() {
  const log = path.join(CACHE, 'docker-build.log');
  const t0 = Date.now();
  const run = spawnSync('docker', ['build', '--build-arg', `BASE=${BASE}`, '-t', IMAGE, root], { encoding: 'utf8', maxBuffer: 1 << 28 });
  fs.writeFileSync(log, run.stdout + run.stderr);
  if (run.status !== 0) throw new Error(`docker build failed (log ${log}):\n${(run.stdout + run.stderr).trim().split('\n').slice(-15).join('\n')}`);
  console.log(`built ${IMAGE} in ${((Date.now() - t0) / 1000).toFixed(1)} s (log ${log})`);
}

function check(what, cond) {
  if (!cond) throw new Error(`test:docker: ${what}`);
  console.log(`ok - ${what}`);
}

// The address line start.js prints, or null while there is none yet.
function started(name) {
  const logs = docker(['logs', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = /http:\/\/localhost:28977 \((io_uring|node:http)\)/.exec(logs);
  return m ? m[1] : null;
}

// GET / over one kept-alive connection, twice; resolves with the socket,
// left open and idle, as a browser or a pool would.
async function keptAlive(port) {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => { text += chunk; });
  for (let i = 1; i <= 2; i++) {
    socket.write('GET /kept HTTP/1.1\r\nHost: x\r\n\r\n');
    while ((text.match(/<\/html>/g) || []).length < i) await once(socket, 'data');
  }
  return { socket, responses: (text.match(/^HTTP\/1\.1 200 /gm) || []).length };
}

// One run of the image: serves, then `docker stop` stops it at once.
async function runCase({ label, opts, backend }) {
  const name = `node-uring-test-${process.pid}-${label.replace(/\W+/g, '-')}`;
  docker(['run', '-d', '--name', name, '-p', '127.0.0.1::28977', ...opts, IMAGE]);
  try {
    let served = null;
    for (const t0 = Date.now(); served === null && Date.now() - t0 < 15000; await sleep(100)) served = started(name);
    check(`${label}: starts, on ${backend}`, served === backend);
    const port = Number(docker(['port', name, '28977/tcp']).split('\n')[0].split(':').pop());
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const body = await res.text();
    check(`${label}: GET / is the page`, res.status === 200 && /<h1>node-uring<\/h1>/.test(body));
    const post = await fetch(`http://127.0.0.1:${port}/form`, { method: 'POST', body: 'a=1' });
    check(`${label}: POST (answered from JS) too`, post.status === 200 && /node-uring/.test(await post.text()));
    const idle = await keptAlive(port);
    check(`${label}: two requests on one kept-alive connection`, idle.responses === 2);
    const t0 = Date.now();
    docker(['stop', '-t', '10', name]);
    const ms = Date.now() - t0;
    idle.socket.destroy();
    const code = Number(docker(['inspect', '-f', '{{.State.ExitCode}}', name]));
    check(`${label}: docker stop took ${ms} ms (< ${STOP_MS}), exit code ${code}`, ms < STOP_MS && code === 0);
    const logs = spawnSync('docker', ['logs', name], { encoding: 'utf8' });
    const warnings = logs.stderr.split('\n').filter((l) => /Warning/.test(l));
    if (backend === 'io_uring') {
      check(`${label}: no warning`, warnings.length === 0);
    } else {
      check(`${label}: one warning, URING_FALLBACK, naming seccomp: ${warnings[0]}`,
        warnings.length === 1 && /\[URING_FALLBACK\]/.test(warnings[0]) && /seccomp/.test(warnings[0]));
    }
  } finally {
    spawnSync('docker', ['rm', '-f', name]);
  }
}

// The image with Debian's systemd as PID 1 and the app where the unit
// expects it (/srv/app).
const SYSTEMD_DOCKERFILE = `FROM ${IMAGE}
USER root
RUN apt-get update && apt-get install -y --no-install-recommends systemd \\
 && rm -rf /var/lib/apt/lists/* && mkdir -p /srv && cp -a /app /srv/app
COPY node-uring.service /etc/systemd/system/
RUN systemctl enable node-uring
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
`;

// A unit's Limit*= as the kernel applies it: systemd cannot raise a limit
// past its own hard limit (no CAP_SYS_RESOURCE in a container).
function limitWanted(unit, key, hard) {
  const m = new RegExp(`^${key}=(\\S+)`, 'm').exec(unit);
  if (!m) throw new Error(`the unit sets no ${key}`);
  const units = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
  const value = /^(\d+)([KMG])?$/.exec(m[1]);
  const n = Number(value[1]) * (units[value[2]] || 1);
  return Math.min(n, hard);
}

// Soft limit of a process from /proc/PID/limits text, by the line's name.
function procLimit(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name));
  const soft = line.slice(name.length).trim().split(/\s+/)[0];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

async function systemdCase(shipped) {
  const unit = fs.readFileSync(UNIT, 'utf8');
  if (spawnSync('systemd-analyze', ['--version']).status === 0) {
    const verify = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    check(`systemd-analyze verify deploy/node-uring.service: clean${verify.stderr.trim() ? `: ${verify.stderr.trim()}` : ''}`,
      verify.status === 0 && verify.stderr.trim() === '');
  } else {
    console.log('# systemd-analyze is missing (apt-get install systemd): the unit is checked in the container only');
  }
  const run = spawnSync('docker', ['build', '-t', SYSTEMD_IMAGE, '-f', '-', path.dirname(UNIT)], { input: SYSTEMD_DOCKERFILE, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`docker build (systemd) failed:\n${(run.stdout + run.stderr).trim().split('\n').slice(-10).join('\n')}`);
  const name = `node-uring-test-${process.pid}-systemd`;
  // systemd sets up the unit's namespaces (SYS_ADMIN); io_uring as the
  // shipped profile allows it.
  docker(['run', '-d', '--name', name, '--cap-add', 'SYS_ADMIN', '--security-opt', `seccomp=${shipped}`,
    '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/run', '--tmpfs', '/run/lock',
    '-p', '127.0.0.1::28977', SYSTEMD_IMAGE]);
  const exec = (cmd) => docker(['exec', name, 'sh', '-c', cmd]);
  try {
    let state = '';
    for (const t0 = Date.now(); state !== 'active' && Date.now() - t0 < 20000; await sleep(200)) {
      state = spawnSync('docker', ['exec', name, 'systemctl', 'is-active', 'node-uring'], { encoding: 'utf8' }).stdout.trim();
    }
    let line = '';
    for (const t0 = Date.now(); !line && Date.now() - t0 < 10000; await sleep(200)) {
      line = exec('journalctl -u node-uring --no-pager -o cat | grep "^http://" || true');
    }
    check(`systemd: node-uring.service is ${state}, on ${line}`, state === 'active' && /\(io_uring\)$/.test(line));
    const port = Number(docker(['port', name, '28977/tcp']).split('\n')[0].split(':').pop());
    const res = await fetch(`http://127.0.0.1:${port}/`);
    check('systemd: GET / is the page', res.status === 200 && /<h1>node-uring<\/h1>/.test(await res.text()));
    const pid = exec('systemctl show -p MainPID --value node-uring');
    const limits = exec(`cat /proc/${pid}/limits`);
    const init = exec('cat /proc/1/limits');
    for (const [key, row] of [['LimitNOFILE', 'Max open files'], ['LimitMEMLOCK', 'Max locked memory']]) {
      const want = limitWanted(unit, key, procLimit(init, row));
      const got = procLimit(limits, row);
      check(`systemd: ${key} applied: ${row} ${got} (the unit's, capped at PID 1's hard limit: ${want})`, got === want);
    }
    const t0 = Date.now();
    exec('systemctl stop node-uring');
    const ms = Date.now() - t0;
    const show = exec('systemctl show -p Result -p ExecMainCode -p ExecMainStatus node-uring');
    check(`systemd: systemctl stop took ${ms} ms (< ${STOP_MS}), ${show.split('\n').join(' ')}`,
      ms < STOP_MS && /Result=success/.test(show) && /ExecMainStatus=0/.test(show) && /ExecMainCode=1\b/.test(show));
  } finally {
    spawnSync('docker', ['rm', '-f', name]);
  }
}

async function main() {
  const dockerd = await ensureDaemon();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-docker-'));
  try {
    const engine = docker(['version', '--format', '{{.Server.Version}}']);
    baseImage();
    build();
    const tools = spawnSync('docker', ['run', '--rm', IMAGE, 'sh', '-c', 'command -v cc gcc make python3 || true'], { encoding: 'utf8' });
    check('the image has no compiler, make or python', tools.status === 0 && tools.stdout.trim() === '');

    const shipped = path.join(root, 'seccomp', 'io_uring.json');
    const denied = path.join(work, 'no_io_uring.json');
    const profile = JSON.parse(fs.readFileSync(shipped, 'utf8'));
    check('seccomp/io_uring.json allows io_uring_setup, io_uring_enter and io_uring_register', seccomp.allowsIoUring(profile));
    fs.writeFileSync(denied, JSON.stringify(seccomp.deny(profile)));

    // Docker's default profile allows io_uring before Engine 25.0 (moby/moby#46762).
    const major = Number(engine.split('.')[0]);
    const cases = [
      { label: `engine ${engine}, default profile`, opts: [], backend: major >= 25 ? 'node:http' : 'io_uring' },
      { label: 'seccomp/io_uring.json', opts: ['--security-opt', `seccomp=${shipped}`], backend: 'io_uring' },
      { label: 'io_uring denied (as the default from 25.0)', opts: ['--security-opt', `seccomp=${denied}`], backend: 'node:http' },
    ];
    for (const c of cases) await runCase(c);
    await systemdCase(shipped);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    await stopDaemon(dockerd);
  }
}

main().catch((err) => {
  if (err instanceof Skip) {
    console.log(`test:docker: SKIPPED: ${err.message}`);
    return;
  }
  console.error(err.stack || err.message);
  process.exitCode = 1;
});

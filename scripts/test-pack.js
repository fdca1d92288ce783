'use strict';

// `npm run test:pack`: the package as a user gets it. Packs it (prepack
// builds the prebuilt binary), then installs the tarball into a fresh
// project twice:
//   1. with no compiler, make or python on PATH: it must load the prebuilt
//      binary, build nothing, and serve a request on io_uring;
//   2. with NODE_URING_BUILD_FROM_SOURCE=1 and no nodedir configured:
//      it must build from source, offline as far as headers go, and serve.
// Needs the npm registry (or npm's cache) for the package's dependencies.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const npmCli = process.env.npm_execpath || fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());

// Serves one request on the io_uring backend and prints which binary loaded.
const PROBE = `
const { createServer } = require('node-uring');
const binary = require('node-gyp-build').resolve(require('node:path').dirname(require.resolve('node-uring/package.json')));
const server = createServer({ backend: 'uring' }, (req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', async () => {
  const res = await fetch('http://127.0.0.1:' + server.address().port + '/');
  console.log(JSON.stringify({ binary, backend: server.backend, status: res.status, body: await res.text() }));
  server.close();
});`;

function npm(args, opts) {
  return execFileSync(process.execPath, [npmCli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}

// A PATH holding node and sh only: no cc, gcc, make or python.
function barePath(dir) {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

// Installs tarball into a fresh project, with env, and runs PROBE there.
function install(tarball, name, env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `node-uring-${name}-`));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `pack-${name}`, private: true }));
  npm(['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: dir, env });
  const out = execFileSync(process.execPath, ['-e', PROBE], { cwd: dir, encoding: 'utf8', env });
  return { dir, result: JSON.parse(out.trim().split('\n').pop()) };
}

function check(what, cond) {
  if (!cond) throw new Error(`test:pack: ${what}`);
  console.log(`ok - ${what}`);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-pack-'));
const tarball = path.join(work, npm(['pack', '--pack-destination', work], { cwd: root }).trim().split('\n').pop());
check('the tarball carries a prebuilt binary',
  execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').some((f) => /^package\/prebuilds\/linux-x64\/.+\.node$/.test(f)));

const ldd = execFileSync('ldd', [path.join(root, 'prebuilds', 'linux-x64', 'node-uring.glibc.node')], { encoding: 'utf8' });
check(`the prebuilt binary needs only libc (ldd: ${ldd.trim().split('\n').map((l) => l.trim().split(' ')[0]).join(', ')})`,
  ldd.split('\n').filter(Boolean).every((l) => /linux-vdso|libc\.so|ld-linux|libm\.so|libpthread|libdl/.test(l)));

const bare = { ...process.env, PATH: barePath(work) };
for (const k of Object.keys(bare)) if (/^npm_config_(nodedir|node_gyp|build_from_source)$/i.test(k)) delete bare[k];
const prebuilt = install(tarball, 'prebuilt', bare);
check('without a toolchain it loads the prebuilt binary', /prebuilds\/linux-x64\/node-uring\.glibc\.node$/.test(prebuilt.result.binary));
check('and built nothing', !fs.existsSync(path.join(prebuilt.dir, 'node_modules', 'node-uring', 'build')));
check('and serves on io_uring', prebuilt.result.backend === 'uring' && prebuilt.result.status === 200 && prebuilt.result.body === 'ok');

const fromSource = { ...process.env, NODE_URING_BUILD_FROM_SOURCE: '1', npm_config_globalconfig: '/dev/null' };
delete fromSource.npm_config_nodedir;
const source = install(tarball, 'source', fromSource);
check('from source it builds build/Release', /build\/Release\/node_uring\.node$/.test(source.result.binary));
check('and serves on io_uring', source.result.backend === 'uring' && source.result.status === 200);

for (const dir of [work, prebuilt.dir, source.dir]) fs.rmSync(dir, { recursive: true, force: true });

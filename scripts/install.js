'use strict';

// `npm install`'s step for the addon (NODE_URING_BUILD_FROM_SOURCE=1, or
// npm's --build-from-source, skips the prebuilt binary). A prebuilt binary that loads here
// (prebuilds/<platform>-<arch>/, shipped in the npm package) is used as it
// is: no compiler, no liburing-dev, no node-llhttp needed. Otherwise the
// addon is built from source with node-gyp, pointed at this Node's own
// headers when it has them, so that the build does not download anything.
// A failed build says what to install.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const gypBuild = require('node-gyp-build');
const { nodeGypEnv } = require('./nodedir');

const root = path.join(__dirname, '..');

// The binary node-gyp-build would load (build/Release first, then the
// prebuilds), if there is one and it loads in this process.
function loadable() {
  let file;
  try {
    file = gypBuild.resolve(root);
    require(file);
    return file;
  } catch (err) {
    if (file !== undefined) console.error(`node-uring: ${file} does not load: ${err.message.split('\n')[0]}`);
    return null;
  }
}

// npm hands install scripts its own node-gyp; a node-gyp installed next
// to the package (the repository's devDependency) is the other choice.
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    return ['node-gyp'];
  }
}

function buildFromSource() {
  const [cmd, ...args] = nodeGyp();
  const run = spawnSync(cmd, [...args, 'rebuild'], { cwd: root, env: nodeGypEnv(), stdio: 'inherit' });
  return run.status === 0;
}

const WHAT_TO_INSTALL =
  'node-uring: no prebuilt binary fits this platform ' +
  `(${process.platform}-${process.arch}), and building from source failed. ` +
  'The source build needs a C compiler, make and python3, liburing (>= 2.3) ' +
  'and llhttp; on Debian or Ubuntu: apt-get install build-essential python3 ' +
  'liburing-dev node-llhttp. To build offline, point node-gyp at installed ' +
  'Node headers: npm_config_nodedir=/usr (Debian) or the prefix of your Node ' +
  'install.';

function main() {
  const fromSource = process.env.NODE_URING_BUILD_FROM_SOURCE === '1' ||
    process.env.npm_config_build_from_source === 'true';
  const prebuilt = fromSource ? null : loadable();
  if (prebuilt !== null) return;
  if (!buildFromSource()) {
    console.error(WHAT_TO_INSTALL);
    process.exitCode = 1;
  }
}

main();

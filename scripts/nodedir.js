'use strict';

// The prefix under which the running Node keeps its headers
// (<prefix>/include/node), the form node-gyp's --nodedir takes: Debian's
// node has them in /usr, Node's own tarballs beside bin/. With it node-gyp
// builds offline; undefined when this Node has no headers installed.
const fs = require('node:fs');
const path = require('node:path');

function localNodedir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

// process.env for a node-gyp run: the nodedir the user set, or this Node's.
function nodeGypEnv() {
  const env = { ...process.env };
  const nodedir = env.npm_config_nodedir || localNodedir();
  if (nodedir) env.npm_config_nodedir = nodedir;
  return env;
}

module.exports = { localNodedir, nodeGypEnv };

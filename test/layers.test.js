'use strict';

// The layers of src/ (see binding.gyp): each folder's files include only
// headers that the folder's build target sees, and name them without a
// path, so that "../http/conn.h" or "http/conn.h" cannot slip past the
// include_dirs that make a leaking layer fail to build. The build checks
// the .c files; this also checks the headers, which compile only as part
// of whatever includes them.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

// binding.gyp is JSON with # comments (none inside strings).
function gypTargets() {
  const text = fs.readFileSync(path.join(root, 'binding.gyp'), 'latin1');
  return JSON.parse(text.replace(/#.*$/gm, '')).targets;
}

// For each folder under src/ that holds sources, the folders its target's
// include_dirs name, with those its dependencies lend it (llhttp's).
function visibleDirs() {
  const targets = gypTargets();
  const lent = (name) => targets.find((t) => t.target_name === name)
    ?.direct_dependent_settings?.include_dirs || [];
  const dirs = new Map();
  for (const t of targets) {
    const own = [...(t.include_dirs || []), ...(t.dependencies || []).flatMap(lent)];
    for (const s of t.sources || []) {
      const dir = path.posix.dirname(s);
      dirs.set(dir, [...new Set([...(dirs.get(dir) || []), dir, ...own])]);
    }
  }
  return dirs;
}

function sourceFiles(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return /\.(c|h|cc)$/.test(e.name) ? [rel] : [];
  });
}

function quotedIncludes(file) {
  const text = fs.readFileSync(path.join(root, file), 'latin1');
  return [...text.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].map((m) => m[1]);
}

describe('layers of src/', () => {
  const dirs = visibleDirs();
  // The llhttp units include the system's sources by absolute path.
  const files = sourceFiles('src').filter((f) => !f.startsWith('src/http/llhttp/'));

  it('every folder with sources has a build target', () => {
    for (const f of files.filter((f) => !f.endsWith('.h'))) {
      assert.ok(dirs.has(path.posix.dirname(f)), `${f} is in no binding.gyp target`);
    }
  });

  it('includes name a header, never a path', () => {
    for (const f of files) {
      for (const inc of quotedIncludes(f)) {
        assert.ok(!inc.includes('/'), `${f} includes "${inc}": name the header alone`);
      }
    }
  });

  it('a layer includes only the headers of the layers it sees', () => {
    for (const f of files) {
      const sees = dirs.get(path.posix.dirname(f)) || [];
      for (const inc of quotedIncludes(f)) {
        const found = sees.some((d) => fs.existsSync(path.resolve(root, d, inc)));
        assert.ok(found, `${f} includes "${inc}", which ${sees.join(', ')} do not hold`);
      }
    }
  });
});

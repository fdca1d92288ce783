'use strict';

// index.d.ts against the API as the README uses it: test/fixtures/types.ts
// must type-check under --strict, and a misuse must not.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { skipOnNodeBackend } = require('./helpers');

const ROOT = path.join(__dirname, '..');
const FIXTURE = path.join(__dirname, 'fixtures', 'types.ts');
const FLAGS = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs',
  '--moduleResolution', 'node', '--types', 'node'];

function tsc(file) {
  const bin = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  return spawnSync(process.execPath, [bin, ...FLAGS, file], { cwd: ROOT, encoding: 'utf8' });
}

describe('index.d.ts', () => {
  before(function () {
    skipOnNodeBackend(this, 'the declarations do not depend on the backend');
    try {
      require.resolve('typescript', { paths: [ROOT] });
    } catch {
      this.skip(); // a devDependency: absent from a production install
    }
  });

  it('type-checks the documented uses of the server, Ring and probe() under --strict', function () {
    this.timeout(60000);
    const run = tsc(FIXTURE);
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('rejects a misuse', function () {
    this.timeout(60000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-types-'));
    const bad = path.join(dir, 'bad.ts');
    fs.writeFileSync(bad, `import { Ring } from ${JSON.stringify(ROOT)};
      const ring = new Ring({ queueFull: 'drop' });
      const n: string = ring.nop();\n`);
    const run = tsc(bad);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.notEqual(run.status, 0);
    assert.match(run.stdout, /"drop"/);
    assert.match(run.stdout, /Promise<number>/);
  });
});

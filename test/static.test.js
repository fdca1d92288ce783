'use strict';

// server.static(urlPrefix, dir): files under a directory served to GET and
// HEAD of a URL prefix, by the ring thread (and from JS on the node
// backend), to the contract in the README. Traversal attempts go over raw
// sockets, since node:http and fetch would normalize '..' away.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
  createServer, trackServer, listening, cleanup, RawClient, rawRequest, request,
  keepAliveAgent, delay, HOST,
} = require('./helpers');

const SECRET = `TOP-SECRET-${crypto.randomBytes(8).toString('hex')}`;
const SMALL = crypto.randomBytes(4096);
// 1 MiB and a bit, each 4-byte word its own offset: a misplaced byte shows.
const BIG = Buffer.alloc(1024 * 1024 + 1234);
for (let i = 0; i + 4 <= BIG.length; i += 4) BIG.writeUInt32BE(i, i);
BIG[BIG.length - 2] = 0xfe;
BIG[BIG.length - 1] = 0xff;
const { FILES, CASES } = require('./fixtures/conditional');
const { CONTENT_TYPES } = require('../lib/static');

const SMALL_ETAG = FILES.small.etag;
const SMALL_LAST_MODIFIED = FILES.small.lastModified;

// File names under types/ and the Content-Type each gets: every extension
// of the table (lib/static.js, which test/mime.test.js holds equal to the
// ring thread's), in lower and upper case, and names the table does not
// know.
const TYPED_FILES = {
  ...Object.fromEntries([...CONTENT_TYPES].flatMap(([ext, type]) => [[`f.${ext}`, type], [`F.${ext.toUpperCase()}`, type]])),
  'app.js.map': 'application/json',
  'arch.tar.gz': 'application/gzip',
  'noext': 'application/octet-stream',
  'weird.xyz': 'application/octet-stream',
  'trailingdot.': 'application/octet-stream',
  // Not Object.prototype's (the node backend once sent a function's text).
  'x.constructor': 'application/octet-stream',
  'x.__proto__': 'application/octet-stream',
  'x.hasOwnProperty': 'application/octet-stream',
};

let tmp; // holds root/, the secret and outside/
let root; // the mounted directory
let unixServer; // keeps the socket file in root alive

function makeFixture() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-static-'));
  root = path.join(tmp, 'root');
  const put = (name, data) => fs.writeFileSync(path.join(root, name), data);
  fs.writeFileSync(path.join(tmp, 'secret'), SECRET);
  fs.mkdirSync(path.join(tmp, 'outside'));
  fs.writeFileSync(path.join(tmp, 'outside', 'secret'), SECRET);
  for (const dir of ['', 'sub', 'sub/deeper', 'noindex', '.git', 'idx-dir', 'idx-dir/index.html']) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
  }
  put('index.html', '<h1>root index</h1>\n');
  put('small.bin', SMALL);
  fs.utimesSync(path.join(root, 'small.bin'), FILES.small.mtime, FILES.small.mtime);
  put('big.bin', BIG);
  put('empty.txt', '');
  put('notes.txt', 'file notes.txt\n');
  put('app.js', 'file app.js\n');
  fs.mkdirSync(path.join(root, 'types'));
  for (const name of Object.keys(TYPED_FILES)) put(`types/${name}`, `file ${name}\n`);
  put('sub/index.html', '<h1>sub index</h1>\n');
  put('sub/page.html', '<p>sub page</p>\n');
  put('sub/deeper/leaf.txt', 'leaf\n');
  put('noindex/file.txt', 'in noindex\n');
  put('.hidden', SECRET);
  put('.git/config', SECRET);
  put('café.txt', 'utf-8 name\n');
  put('with space.txt', 'space name\n');
  put('a?b.txt', 'question mark\n');
  fs.symlinkSync('notes.txt', path.join(root, 'link-in.txt'));
  fs.symlinkSync('sub', path.join(root, 'linkdir-in'));
  fs.symlinkSync('../page.html', path.join(root, 'sub', 'deeper', 'link-up.html'));
  fs.symlinkSync(path.join(root, 'notes.txt'), path.join(root, 'link-in-abs.txt'));
  fs.symlinkSync('../secret', path.join(root, 'link-out'));
  fs.symlinkSync(path.join(tmp, 'secret'), path.join(root, 'link-out-abs'));
  fs.symlinkSync('../outside', path.join(root, 'linkdir-out'));
  fs.symlinkSync('sub/../../secret', path.join(root, 'link-out-via-sub'));
  fs.symlinkSync('nowhere', path.join(root, 'dangling'));
  fs.symlinkSync('loop-b', path.join(root, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(root, 'loop-b'));
  execFileSync('mkfifo', [path.join(root, 'pipe')]);
  put('unreadable.txt', SECRET);
  fs.chmodSync(path.join(root, 'unreadable.txt'), 0o000);
  fs.symlinkSync(root, path.join(tmp, 'rootlink'));
}

function listenUnix(file) {
  return new Promise((resolve, reject) => {
    const server = net.createServer().unref();
    server.once('error', reject);
    server.listen(file, () => resolve(server));
  });
}

const get = (target, headers = '') => `GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;
const head = (target, headers = '') => `HEAD ${target} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

// One raw request on a new connection: the parsed response.
async function raw(port, data, options) {
  const { responses: [res] } = await rawRequest(port, data, 1, options);
  return res;
}

function assertNoSecret(res, what) {
  assert.ok(!res.body.toString('latin1').includes(SECRET), `${what} returned the secret`);
  assert.ok(!res.rawHead.includes(SECRET), `${what} returned the secret in its head`);
}

// An error response of the mount: status text as a plain body.
function assertError(res, status, what = '') {
  const text = require('node:http').STATUS_CODES[status];
  assert.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.body.toString('latin1').slice(0, 80)}`);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8', what);
  assert.equal(res.headers['content-length'], String(text.length), what);
  assert.equal(res.body.toString(), text, what);
  assert.ok(res.headers.date, what);
}

function etagOf(file) {
  const st = fs.statSync(file, { bigint: true });
  return `"${st.size.toString(16)}-${(st.mtimeNs / 1000000000n).toString(16)}.${(st.mtimeNs % 1000000000n).toString(16)}"`;
}

// What this process's fds (the ring thread's too) point at.
function openFds() {
  const found = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      found.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return found;
}

// The files under dir this process has open.
function openFilesUnder(dir) {
  const real = fs.realpathSync(dir);
  return openFds().filter((target) => target.startsWith(`${real}/`));
}

const openPipes = () => openFds().filter((target) => target.startsWith('pipe:')).length;

// Polls check() until it returns true, for up to 3 s.
async function eventually(check) {
  for (let i = 0; i < 60 && !check(); i++) await delay(50);
  return check();
}

function connections(server) {
  return new Promise((resolve, reject) => {
    server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
  });
}

describe('server.static()', () => {
  before(async () => {
    makeFixture();
    unixServer = await listenUnix(path.join(root, 'sock'));
  });

  after(() => {
    if (unixServer) unixServer.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(cleanup);

  // A server with mounts (and routes) set up by setup(server), whose handler
  // records what reaches it. Resolves { server, port, calls }.
  async function serve(setup = (s) => s.static('/static', root),
    handler = (req, res) => res.end(`handler ${req.method} ${req.url}`)) {
    const calls = [];
    const server = createServer((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      handler(req, res);
    });
    setup(server);
    trackServer(server);
    await listening(server, 0, HOST);
    return { server, port: server.address().port, calls };
  }

  describe('arguments', () => {
    it('refuses a bad prefix with ERR_INVALID_ARG_VALUE', () => {
      const server = createServer(() => {});
      for (const prefix of ['static', '', 'static/', '/a?b', '/a#b', '/a b', '/a\tb', '/a%20b', '/a/../b',
        '/./a', '/..', '/a/.', '/a\0b', '/caf\u00e9', 42, null, undefined, ['/a']]) {
        assert.throws(() => server.static(prefix, root), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' },
          JSON.stringify(prefix));
      }
    });

    it('throws the fs error for a missing dir, ERR_INVALID_ARG_VALUE for a file', () => {
      const server = createServer(() => {});
      assert.throws(() => server.static('/s', path.join(tmp, 'nope')), { code: 'ENOENT' });
      assert.throws(() => server.static('/s', path.join(root, 'notes.txt')), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
      assert.throws(() => server.static('/s', 42), { code: 'ERR_INVALID_ARG_TYPE' });
    });

    it('is chainable, and refused after listen() with ERR_SERVER_ALREADY_LISTEN', async () => {
      const server = createServer(() => {});
      assert.equal(server.static('/a', root).static('/b/', root).route('GET', '/r', {}), server);
      trackServer(server);
      await listening(server, 0, HOST);
      assert.throws(() => server.static('/late', root), { code: 'ERR_SERVER_ALREADY_LISTEN' });
    });

    it("resolves a relative dir, drops a trailing '/' of the prefix, and follows a symlinked root", async () => {
      const { port, calls } = await serve((s) => s
        .static('/rel/', path.relative(process.cwd(), root))
        .static('/viasymlink', path.join(tmp, 'rootlink')));
      assert.equal((await request(port, { path: '/rel/notes.txt' })).body.toString(), 'file notes.txt\n');
      assert.equal((await request(port, { path: '/rel/' })).body.toString(), '<h1>root index</h1>\n');
      assert.equal((await request(port, { path: '/viasymlink/sub/page.html' })).body.toString(), '<p>sub page</p>\n');
      const out = await raw(port, get('/viasymlink/link-out'));
      assertError(out, 404);
      assertNoSecret(out, 'link-out through a symlinked root');
      assert.deepEqual(calls, []);
    });
  });

  describe('serving files', () => {
    it('serves a file with Content-Type, Content-Length, ETag, Last-Modified, Accept-Ranges, Date, keep-alive', async () => {
      const { port, calls } = await serve();
      const res = await raw(port, get('/static/small.bin'));
      assert.equal(res.statusCode, 200);
      assert.ok(res.body.equals(SMALL));
      assert.equal(res.headers['content-type'], 'application/octet-stream');
      assert.equal(res.headers['content-length'], '4096');
      assert.equal(res.headers.etag, SMALL_ETAG);
      assert.equal(res.headers.etag, etagOf(path.join(root, 'small.bin')));
      assert.equal(res.headers['last-modified'], SMALL_LAST_MODIFIED);
      assert.equal(res.headers['accept-ranges'], 'bytes');
      assert.equal(res.headers.connection, 'keep-alive');
      assert.ok(Math.abs(Date.parse(res.headers.date) - Date.now()) < 5000, res.headers.date);
      assert.equal(res.chunked, false);
      assert.deepEqual(calls, []);
    });

    it('gives each extension its Content-Type, case-insensitively', async () => {
      const { port } = await serve();
      const agent = keepAliveAgent();
      for (const [name, type] of Object.entries(TYPED_FILES)) {
        const { res, body } = await request(port, { path: `/static/types/${encodeURIComponent(name)}`, agent });
        assert.equal(res.statusCode, 200, name);
        assert.equal(res.headers['content-type'], type, name);
        assert.equal(body.toString(), `file ${name}\n`, name);
      }
      const { res } = await request(port, { path: '/static/index.html', agent });
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    });

    it('serves index.html for the prefix and a trailing slash, and for subdirectories', async () => {
      const { port, calls } = await serve();
      for (const target of ['/static/', '/static//', '/static/?q=1']) {
        const res = await raw(port, get(target));
        assert.equal(res.statusCode, 200, target);
        assert.equal(res.body.toString(), '<h1>root index</h1>\n', target);
        assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', target);
      }
      for (const target of ['/static/sub/', '/static/sub//', '/static/linkdir-in/', '/static/sub%2f']) {
        const res = await raw(port, get(target));
        assert.equal(res.statusCode, 200, target);
        assert.equal(res.body.toString(), '<h1>sub index</h1>\n', target);
      }
      assertError(await raw(port, get('/static/noindex/')), 404, 'noindex/');
      // An index.html that is a directory is no file to serve.
      assertError(await raw(port, get('/static/idx-dir/')), 404, 'idx-dir/');
      assert.deepEqual(calls, []);
    });

    it('redirects a directory without its trailing slash, keeping the path as received and the query', async () => {
      const { port } = await serve();
      const cases = {
        // The prefix itself: its index.html's relative links need the slash.
        '/static': '/static/',
        '/static?q=1': '/static/?q=1',
        '/static/sub': '/static/sub/',
        '/static/sub?x=1&y=2': '/static/sub/?x=1&y=2',
        '/static/%73ub': '/static/%73ub/',
        '/static//sub': '/static//sub/',
        '/static/noindex': '/static/noindex/',
        '/static/sub/deeper': '/static/sub/deeper/',
        '/static/linkdir-in': '/static/linkdir-in/',
        '/static/idx-dir/index.html': '/static/idx-dir/index.html/',
      };
      for (const [target, location] of Object.entries(cases)) {
        const res = await raw(port, get(target));
        assertError(res, 301, target);
        assert.equal(res.headers.location, location, target);
      }
    });

    it('serves the 1 MiB file byte-exact, over node:http and raw, several at once', async () => {
      const { port } = await serve();
      const viaRaw = await raw(port, get('/static/big.bin'), { timeoutMs: 10000 });
      assert.equal(viaRaw.headers['content-length'], String(BIG.length));
      assert.ok(viaRaw.body.equals(BIG));
      const all = await Promise.all(Array.from({ length: 8 }, () => request(port, { path: '/static/big.bin' })));
      for (const { res, body } of all) {
        assert.equal(res.statusCode, 200);
        assert.equal(body.length, BIG.length);
        assert.ok(body.equals(BIG));
      }
    });

    it('serves an empty file', async () => {
      const { port } = await serve();
      const res = await raw(port, get('/static/empty.txt') + get('/static/notes.txt'));
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], '0');
      assert.equal(res.body.length, 0);
    });

    it('decodes percent-escapes: UTF-8 names, spaces, an escaped slash or letter; ignores the query', async () => {
      const { port } = await serve();
      const cases = {
        '/static/caf%C3%A9.txt': 'utf-8 name\n',
        '/static/caf%c3%a9.txt': 'utf-8 name\n',
        '/static/with%20space.txt': 'space name\n',
        '/static/a%3Fb.txt': 'question mark\n',
        '/static/sub%2Fpage.html': '<p>sub page</p>\n',
        '/static/%73ub/page.html': '<p>sub page</p>\n',
        '/static//sub///deeper//leaf.txt': 'leaf\n',
        '/static/notes.txt?v=1&x=%zz': 'file notes.txt\n',
        '/static/notes.txt?': 'file notes.txt\n',
      };
      for (const [target, body] of Object.entries(cases)) {
        const res = await raw(port, get(target));
        assert.equal(res.statusCode, 200, target);
        assert.equal(res.body.toString(), body, target);
      }
      // Decoded once, not twice.
      assertError(await raw(port, get('/static/caf%25C3%25A9.txt')), 404);
    });

    it('follows symlinks that stay inside the root', async () => {
      const { port } = await serve();
      const file = await raw(port, get('/static/link-in.txt'));
      assert.equal(file.statusCode, 200);
      assert.equal(file.body.toString(), 'file notes.txt\n');
      const viaDir = await raw(port, get('/static/linkdir-in/page.html'));
      assert.equal(viaDir.body.toString(), '<p>sub page</p>\n');
      const up = await raw(port, get('/static/sub/deeper/link-up.html'));
      assert.equal(up.body.toString(), '<p>sub page</p>\n');
    });

    it('redirects a directory to a path, never to another host', async () => {
      const { port } = await serve((s) => s.static('/', root));
      for (const [target, location] of [['//sub', '/sub/'], ['///sub?x', '/sub/?x'], ['/sub', '/sub/']]) {
        const res = await raw(port, get(target));
        assert.equal(res.statusCode, 301, target);
        assert.equal(res.headers.location, location, target);
      }
    });

    it('serves a file whose mtime no HTTP date can say, without Last-Modified', async function () {
      // tmpfs keeps any 64-bit mtime; the disk under os.tmpdir() may not.
      if (!fs.existsSync('/dev/shm')) this.skip();
      const dir = fs.mkdtempSync('/dev/shm/node-uring-static-');
      try {
        fs.writeFileSync(path.join(dir, 'far.txt'), 'far\n');
        fs.utimesSync(path.join(dir, 'far.txt'), 2 ** 40, 2 ** 40); // the year 36812
        const { port } = await serve((s) => s.static('/far', dir));
        const plain = await raw(port, get('/far/far.txt'));
        const since = await raw(port, get('/far/far.txt', 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n'));
        for (const res of [plain, since]) {
          assert.equal(res.statusCode, 200);
          assert.equal(res.body.toString(), 'far\n');
          assert.equal(res.headers['last-modified'], undefined);
          assert.match(res.headers.etag, /^"4-10000000000\.0"$/);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('holds a file or two open per connection, however many downloads it pipelines', async () => {
      const sparse = path.join(root, 'sparse.bin');
      fs.closeSync(fs.openSync(sparse, 'w'));
      fs.truncateSync(sparse, 3 * 1024 ** 3); // 3 GiB, no blocks
      try {
        const { port } = await serve();
        const client = await RawClient.connect(port);
        client.socket.pause(); // reads nothing
        client.write(get('/static/sparse.bin').repeat(64));
        await delay(300);
        const open = openFilesUnder(root).length;
        assert.ok(open >= 1 && open <= 3, `${open} files open`);
        client.destroy();
        assert.ok(await eventually(() => openFilesUnder(root).length === 0));
      } finally {
        fs.rmSync(sparse, { force: true });
      }
    });

    it('answers 404 for a name longer than the file system allows', async () => {
      const { port } = await serve();
      assertError(await raw(port, get(`/static/${'n'.repeat(300)}.txt`)), 404);
    });

    it('answers 404 for an absolute symlink, even one leading inside the root', async () => {
      // openat2(RESOLVE_BENEATH) refuses every absolute symlink: where it
      // leads depends on the process's root, not on the mount.
      const { port } = await serve();
      assertError(await raw(port, get('/static/link-in-abs.txt')), 404);
    });

    it('answers 404 for symlinks leading out of the root, dangling or looping ones', async () => {
      const { port, calls } = await serve();
      for (const target of ['/static/link-out', '/static/link-out-abs', '/static/link-out-via-sub',
        '/static/linkdir-out', '/static/linkdir-out/', '/static/linkdir-out/secret',
        '/static/linkdir-out/../secret', '/static/dangling', '/static/loop-a', '/static/loop-a/x']) {
        const res = await raw(port, get(target));
        assertNoSecret(res, target);
        assertError(res, target.includes('/../') ? 403 : 404, target);
      }
      assert.deepEqual(calls, []);
    });

    it('answers 404 for a FIFO and a socket without hanging, and keeps serving', async function () {
      const { port } = await serve();
      const client = await RawClient.connect(port);
      client.write(get('/static/pipe') + get('/static/sock') + get('/static/notes.txt'));
      const [fifo, sock, next] = await client.readResponses(3, { timeoutMs: 3000 });
      assertError(fifo, 404, 'FIFO');
      assertError(sock, 404, 'socket');
      assert.equal(next.body.toString(), 'file notes.txt\n');
    });

    it('answers 403 for a file it may not read', async function () {
      if (process.getuid() === 0) {
        this.test.title += ' (skipped: root reads any file)';
        this.skip();
      }
      const { port } = await serve();
      const res = await raw(port, get('/static/unreadable.txt'));
      assertError(res, 403);
      assertNoSecret(res, 'unreadable.txt');
    });

    it('answers 404 for what is not there, without calling the handler', async () => {
      const { port, calls } = await serve();
      for (const target of ['/static/nope', '/static/nope/', '/static/sub/nope.html',
        '/static/notes.txt/', '/static/notes.txt/x', '/static/noindex/nope']) {
        assertError(await raw(port, get(target)), 404, target);
      }
      assert.deepEqual(calls, []);
    });

    it('serves a file changed after listen(), with a new ETag', async () => {
      const { port } = await serve();
      const file = path.join(root, 'changing.txt');
      fs.writeFileSync(file, 'one');
      fs.utimesSync(file, 1600000000, 1600000000);
      const first = await raw(port, get('/static/changing.txt'));
      assert.equal(first.body.toString(), 'one');
      fs.writeFileSync(file, 'two!');
      const second = await raw(port, get('/static/changing.txt', `If-None-Match: ${first.headers.etag}\r\n`));
      assert.equal(second.statusCode, 200);
      assert.equal(second.body.toString(), 'two!');
      assert.notEqual(second.headers.etag, first.headers.etag);
      assert.equal(second.headers.etag, etagOf(file));
      fs.rmSync(file);
      assertError(await raw(port, get('/static/changing.txt')), 404);
    });
  });

  describe('security', () => {
    // [target, status]: none may return the secret.
    const ATTEMPTS = [
      ['/static/../secret', 403],
      ['/static/..', 403],
      ['/static/../', 403],
      ['/static/%2e%2e/secret', 403],
      ['/static/%2E%2E%2Fsecret', 403],
      ['/static/..%2fsecret', 403],
      ['/static/.%2e/secret', 403],
      ['/static/%2e./secret', 403],
      ['/static/a/../../secret', 403],
      ['/static/sub/../../secret', 403],
      ['/static/sub%2f..%2f..%2fsecret', 403],
      ['/static/sub/..', 403],
      ['/static/%2e%2e%5csecret', 404], // one name, '..\secret': a dotfile
      ['/static/..\\secret', 404],
      ['/static/%252e%252e/secret', 404], // decoded once: a directory named '%2e%2e'
      ['/static/%00', 400],
      ['/static/foo%00.html', 400],
      ['/static/notes.txt%00.html', 400],
      ['/static/%zz', 400],
      ['/static/%', 400],
      ['/static/%2', 400],
      ['/static/%2g', 400],
      ['/static/../%zz', 400], // decoding comes first
      ['/static/.hidden', 404],
      ['/static/%2ehidden', 404],
      ['/static/.git/config', 404],
      ['/static/%2egit/config', 404],
      ['/static/sub/../.hidden', 403],
      ['/static/.git/../secret', 404], // the first refused segment decides
      ['/static/./notes.txt', 404],
      ['/static/sub/./page.html', 404],
      ['/static/...', 404],
      ['/static//etc/passwd', 404],
      ['/static///etc/passwd', 404],
      ['/static/%2fetc/passwd', 404],
      ['/static/link-out', 404],
      ['/static/linkdir-out/secret', 404],
    ];

    it('never serves a file outside the root, nor a dotfile', async () => {
      const { port, calls } = await serve();
      for (const [target, status] of ATTEMPTS) {
        const res = await raw(port, get(target));
        assertNoSecret(res, target);
        assert.ok(!res.body.toString('latin1').includes('root:'), `${target} served /etc/passwd`);
        assertError(res, status, target);
      }
      assert.deepEqual(calls, []);
    });

    it("does the same for a mount of '/'", async () => {
      const { port, calls } = await serve((s) => s.static('/', root));
      for (const [target, status] of ATTEMPTS) {
        const rootTarget = target.slice('/static'.length) || '/';
        const res = await raw(port, get(rootTarget));
        assertNoSecret(res, rootTarget);
        assertError(res, status, rootTarget);
      }
      assert.deepEqual(calls, []);
    });

    it('answers errors on a kept-alive connection, which goes on serving', async () => {
      const { port } = await serve();
      const client = await RawClient.connect(port);
      client.write(get('/static/%zz') + get('/static/../secret') + get('/static/.hidden') +
        head('/static/%00') + get('/static/notes.txt'));
      const [bad, forbidden, hidden] = await client.readResponses(3);
      const headBad = await client.readResponse({ head: true });
      const ok = await client.readResponse();
      assertError(bad, 400);
      assertError(forbidden, 403);
      assertError(hidden, 404);
      assert.equal(headBad.statusCode, 400);
      assert.equal(headBad.headers['content-length'], '11');
      for (const res of [bad, forbidden, hidden, headBad]) assert.equal(res.headers.connection, 'keep-alive');
      assert.equal(ok.body.toString(), 'file notes.txt\n');
      assert.equal(await client.closedWithin(200), false);
    });
  });

  describe('which requests', () => {
    it('leaves other methods, and paths that only look alike, to the handler', async () => {
      const { port, calls } = await serve();
      const client = await RawClient.connect(port);
      client.write('POST /static/notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
        'PUT /static/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' +
        'DELETE /static/notes.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
        'OPTIONS /static HTTP/1.1\r\nHost: x\r\n\r\n' +
        get('/staticfoo') + get('/static.txt') + get('/stati') + get('/other/static/notes.txt'));
      const responses = await client.readResponses(8);
      const expected = ['POST /static/notes.txt', 'PUT /static/', 'DELETE /static/notes.txt', 'OPTIONS /static',
        'GET /staticfoo', 'GET /static.txt', 'GET /stati', 'GET /other/static/notes.txt'];
      assert.deepEqual(responses.map((r) => r.body.toString()), expected.map((e) => `handler ${e}`));
      assert.deepEqual(calls, expected);
    });

    it('lets the first matching mount win', async () => {
      const other = fs.mkdtempSync(path.join(tmp, 'other-'));
      fs.mkdirSync(path.join(other, 'sub'));
      fs.writeFileSync(path.join(other, 'sub', 'page.html'), 'other page');
      fs.writeFileSync(path.join(other, 'only-other.txt'), 'only in other');
      const { port, calls } = await serve((s) => s
        .static('/a', root).static('/a/sub', other)
        .static('/b/sub', path.join(other, 'sub')).static('/b', root)
        .static('/c', other));
      assert.equal((await raw(port, get('/a/sub/page.html'))).body.toString(), '<p>sub page</p>\n');
      assert.equal((await raw(port, get('/b/sub/page.html'))).body.toString(), 'other page');
      assert.equal((await raw(port, get('/b/notes.txt'))).body.toString(), 'file notes.txt\n');
      assert.equal((await raw(port, get('/c/only-other.txt'))).body.toString(), 'only in other');
      // A miss in the first mount is its 404: no fall-through to the next.
      assertError(await raw(port, get('/a/sub/only-other.txt')), 404);
      assert.deepEqual(calls, []);
    });

    it('lets a route shadow a mount', async () => {
      const { port, calls } = await serve((s) => s
        .static('/static', root)
        .route('GET', '/static/notes.txt', { body: 'from the route' }));
      assert.equal((await raw(port, get('/static/notes.txt'))).body.toString(), 'from the route');
      assert.equal((await raw(port, get('/static/notes.txt?x'))).body.toString(), 'from the route');
      assert.equal((await raw(port, get('/static/app.js'))).body.toString(), 'file app.js\n');
      assert.deepEqual(calls, []);
    });

    it("serves the whole URL space with a mount of '/', leaving other methods to the handler", async () => {
      const { port, calls } = await serve((s) => s.static('/', root));
      assert.equal((await raw(port, get('/'))).body.toString(), '<h1>root index</h1>\n');
      assert.equal((await raw(port, get('/?x=1'))).body.toString(), '<h1>root index</h1>\n');
      assert.equal((await raw(port, get('/sub/page.html'))).body.toString(), '<p>sub page</p>\n');
      assert.equal((await raw(port, get('/sub'))).headers.location, '/sub/');
      assertError(await raw(port, get('/nope')), 404);
      const post = await raw(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
      assert.equal(post.body.toString(), 'handler POST /');
      assert.deepEqual(calls, ['POST /']);
    });

    it('answers a GET that has a body, and the next request on the connection', async () => {
      const { port, calls } = await serve();
      const client = await RawClient.connect(port);
      client.write('GET /static/notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
        get('/static/app.js') + get('/elsewhere'));
      const responses = await client.readResponses(3);
      assert.deepEqual(responses.map((r) => r.body.toString()),
        ['file notes.txt\n', 'file app.js\n', 'handler GET /elsewhere']);
      assert.deepEqual(calls, ['GET /elsewhere']);
    });

    it('answers a GET with Expect: 100-continue at once', async () => {
      const { port, calls } = await serve();
      const res = await raw(port, get('/static/notes.txt', 'Expect: 100-continue\r\n'));
      assert.equal(res.statusCode, 200);
      assert.equal(res.body.toString(), 'file notes.txt\n');
      assert.deepEqual(calls, []);
    });
  });

  describe('HEAD', () => {
    it('sends the headers of GET without the body', async () => {
      const { port } = await serve();
      const client = await RawClient.connect(port);
      client.write(head('/static/big.bin') + head('/static/nope') + head('/static/sub') + get('/static/notes.txt'));
      const file = await client.readResponse({ head: true });
      const missing = await client.readResponse({ head: true });
      const dir = await client.readResponse({ head: true });
      const next = await client.readResponse();
      assert.equal(file.statusCode, 200);
      assert.equal(file.headers['content-length'], String(BIG.length));
      assert.equal(file.headers['content-type'], 'application/octet-stream');
      assert.equal(file.headers.etag, etagOf(path.join(root, 'big.bin')));
      assert.equal(file.headers['accept-ranges'], 'bytes');
      assert.ok(file.headers['last-modified']);
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.headers['content-length'], '9');
      assert.equal(dir.statusCode, 301);
      assert.equal(dir.headers.location, '/static/sub/');
      assert.equal(next.body.toString(), 'file notes.txt\n');
    });
  });

  describe('connections', () => {
    it('serves several requests on one kept-alive connection', async () => {
      const { port, calls } = await serve();
      const client = await RawClient.connect(port);
      for (const [target, body] of [['/static/notes.txt', 'file notes.txt\n'], ['/static/small.bin', SMALL],
        ['/static/big.bin', BIG], ['/static/sub/', '<h1>sub index</h1>\n'], ['/static/app.js', 'file app.js\n']]) {
        client.write(get(target));
        const res = await client.readResponse({ timeoutMs: 10000 });
        assert.equal(res.statusCode, 200, target);
        assert.equal(res.headers.connection, 'keep-alive', target);
        assert.ok(res.body.equals(Buffer.from(body)), target);
      }
      assert.equal(await client.closedWithin(100), false);
      assert.deepEqual(calls, []);
    });

    it('answers pipelined static and handler requests in request order', async () => {
      const { port, calls } = await serve(undefined, (req, res) => {
        // Late answers, in reverse order: the mount's must still wait their turn.
        const wait = { '/h1': 60, '/h2': 30, '/h3': 0 }[req.url.split('?')[0]] ?? 0;
        setTimeout(() => res.end(`handler ${req.method} ${req.url}`), wait);
      });
      const client = await RawClient.connect(port);
      client.write(get('/h1') + get('/static/notes.txt') + get('/static/big.bin') +
        'POST /static/notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi' +
        head('/static/small.bin') + get('/h2') + get('/static/nope') + get('/static/sub') +
        get('/static/small.bin', 'Range: bytes=10-19\r\n') + get('/h3') + get('/static/app.js'));
      const r = [];
      for (let i = 0; i < 11; i++) r.push(await client.readResponse({ head: i === 4, timeoutMs: 10000 }));
      assert.equal(r[0].body.toString(), 'handler GET /h1');
      assert.equal(r[1].body.toString(), 'file notes.txt\n');
      assert.ok(r[2].body.equals(BIG));
      assert.equal(r[3].body.toString(), 'handler POST /static/notes.txt');
      assert.deepEqual([r[4].statusCode, r[4].headers['content-length']], [200, '4096']);
      assert.equal(r[5].body.toString(), 'handler GET /h2');
      assert.equal(r[6].statusCode, 404);
      assert.equal(r[7].statusCode, 301);
      assert.deepEqual([r[8].statusCode, r[8].body], [206, SMALL.subarray(10, 20)]);
      assert.equal(r[9].body.toString(), 'handler GET /h3');
      assert.equal(r[10].body.toString(), 'file app.js\n');
      assert.deepEqual(calls, ['GET /h1', 'POST /static/notes.txt', 'GET /h2', 'GET /h3']);
      assert.equal(await client.closedWithin(100), false);
    });

    it('closes after the response when the request says Connection: close, or is HTTP/1.0', async () => {
      const { port } = await serve();
      for (const data of [get('/static/notes.txt', 'Connection: close\r\n'),
        get('/static/big.bin', 'Connection: close\r\n'),
        get('/static/nope', 'Connection: close\r\n'),
        'GET /static/notes.txt HTTP/1.0\r\n\r\n']) {
        const { client, responses: [res] } = await rawRequest(port, data, 1, { timeoutMs: 10000 });
        assert.equal(res.headers.connection, 'close', data);
        assert.ok(await client.closedWithin(3000), data);
      }
      const kept = await rawRequest(port, 'GET /static/notes.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      assert.equal(kept.responses[0].headers.connection, 'keep-alive');
      assert.equal(kept.responses[0].body.toString(), 'file notes.txt\n');
    });

    it('keeps serving after a client resets mid-download', async () => {
      const { server, port } = await serve();
      const client = await RawClient.connect(port);
      client.socket.pause(); // read nothing: the downloads cannot finish
      client.write(get('/static/big.bin').repeat(16));
      await delay(100);
      if (client.socket.resetAndDestroy) client.socket.resetAndDestroy();
      else client.destroy();
      const next = await rawRequest(port, get('/static/big.bin'), 1, { timeoutMs: 10000 });
      assert.ok(next.responses[0].body.equals(BIG));
      next.client.destroy();
      let open;
      for (let i = 0; i < 60; i++) {
        open = await connections(server);
        if (open === 0) break;
        await delay(50);
      }
      assert.equal(open, 0, `${open} connections still open`);
      // Every file the downloads opened is closed again.
      let files;
      for (let i = 0; i < 60; i++) {
        files = openFilesUnder(root);
        if (files.length === 0) break;
        await delay(50);
      }
      assert.deepEqual(files, []);
    });

    it('streams a file larger than the socket buffers to a client that stalls, then reads', async () => {
      const huge = crypto.randomBytes(24 * 1024 * 1024);
      fs.writeFileSync(path.join(root, 'huge.bin'), huge);
      const { port } = await serve();
      const body = await new Promise((resolve, reject) => {
        require('node:http').get({ host: '127.0.0.1', port, path: '/static/huge.bin' }, (res) => {
          const chunks = [];
          res.pause(); // the server's writes back up until the client reads
          setTimeout(() => res.resume(), 300);
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        }).on('error', reject);
      });
      assert.equal(body.length, huge.length);
      assert.ok(body.equals(huge));
    });

    it('lets closeAllConnections() cut a download stalled on a client that never reads', async () => {
      const pipes = openPipes();
      const { server, port } = await serve();
      const client = await RawClient.connect(port);
      client.socket.pause();
      client.write(get('/static/huge.bin'));
      await delay(200);
      server.closeAllConnections();
      await new Promise((resolve) => client.socket.once('close', resolve).resume());
      assert.ok(await eventually(() => openFilesUnder(root).length === 0), openFilesUnder(root).join());
      assert.ok(await eventually(() => openPipes() <= pipes), `${openPipes()} pipes open, ${pipes} before`);
      assert.equal(await connections(server), 0);
    });
  });

  // test/fixtures/conditional.js: each case on a connection of its own,
  // followed by a plain GET whose response must parse (no stray bytes).
  describe('conditional requests and ranges (the table)', () => {
    let dir;
    let server;
    let port;
    let oldKept; // whether the file system keeps an mtime of 1850
    const content = { small: SMALL, big: BIG, empty: Buffer.alloc(0), old: Buffer.from('1850\n') };

    before(async () => {
      // tmpfs keeps any mtime; the disk under os.tmpdir() may not.
      dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'node-uring-cond-'));
      for (const [key, f] of Object.entries(FILES)) {
        const file = path.join(dir, f.name);
        assert.equal(content[key].length, f.size, f.name);
        fs.writeFileSync(file, content[key]);
        const mtime = new Date(f.mtime * 1000); // fs takes a negative number for now
        fs.utimesSync(file, mtime, mtime);
      }
      oldKept = fs.statSync(path.join(dir, FILES.old.name)).mtimeMs === FILES.old.mtime * 1000;
      server = createServer((req, res) => res.end('handler')).static('/c', dir);
      await listening(server, 0, HOST);
      port = server.address().port;
    });

    after(async () => {
      if (server) await new Promise((resolve) => server.close(resolve));
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    // What the case's status means for the response's headers and body.
    function checkCase(res, c, f) {
      const what = `${c.name}${c.why ? ` (was wrong: ${c.why})` : ''}`;
      assert.equal(res.statusCode, c.status, what);
      assert.ok(res.headers.date, what);
      assert.equal(res.headers.connection, 'keep-alive', what);
      if (c.status === 416) {
        assertError(res, 416, what);
        assert.equal(res.headers['content-range'], `bytes */${f.size}`, what);
        return;
      }
      assert.equal(res.headers.etag, f.etag, what);
      assert.equal(res.headers['last-modified'], f.lastModified, what);
      assert.equal(res.headers['transfer-encoding'], undefined, what);
      if (c.status === 304) {
        for (const name of ['content-length', 'content-type', 'content-range']) {
          assert.equal(res.headers[name], undefined, `${what}: ${name}`);
        }
        assert.equal(res.body.length, 0, what);
        return;
      }
      const [first, last] = c.status === 206 ? c.range : [0, f.size - 1];
      assert.equal(res.headers['accept-ranges'], 'bytes', what);
      assert.ok(res.headers['content-type'], what);
      assert.equal(res.headers['content-length'], String(last - first + 1), what);
      assert.equal(res.headers['content-range'], c.status === 206 ? `bytes ${first}-${last}/${f.size}` : undefined, what);
      const expected = c.method === 'HEAD' ? Buffer.alloc(0) : content[c.file].subarray(first, last + 1);
      assert.ok(res.body.equals(expected), `${what}: ${res.body.length} body bytes, ${expected.length} expected`);
    }

    for (const c of CASES) {
      it(`${c.name}: ${c.status}`, async function () {
        if (c.file === 'old' && !oldKept) this.skip();
        const f = FILES[c.file];
        const method = c.method ?? 'GET';
        const data = `${method} /c/${f.name} HTTP/1.1\r\nHost: x\r\n${c.headers(f)}\r\n${get(`/c/${FILES.small.name}`)}`;
        const client = await RawClient.connect(port);
        try {
          client.write(Buffer.from(data, 'latin1')); // byte for byte, 0xa0 included
          const res = await client.readResponse({ head: method === 'HEAD', timeoutMs: 10000 });
          checkCase(res, c, f);
          const next = await client.readResponse();
          assert.equal(next.statusCode, 200, `${c.name}: the next response`);
          assert.ok(next.body.equals(SMALL), `${c.name}: the next response`);
        } finally {
          client.destroy();
        }
      });
    }
  });
});

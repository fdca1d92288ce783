'use strict';

// Express 5 and 4 on node-uring answer as they do on node:http, byte for
// byte (test/frameworks/compare.js), and supertest drives them.

const assert = require('node:assert/strict');
const path = require('node:path');
const { Readable } = require('node:stream');
const supertest = require('supertest');
const { cleanup, request } = require('../helpers');
const { startBoth, same } = require('./compare');

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'frameworks');

// One app for every case, built with the Express given.
function makeApp(express) {
  const app = express();
  app.set('views', path.join(FIXTURES, 'views'));
  app.set('view engine', 'ejs');
  app.set('etag', 'strong');
  app.set('env', 'test'); // the default error handler logs nothing
  app.get('/', (req, res) => res.send('hello'));
  app.get('/users/:id', (req, res) => res.json({ id: req.params.id, q: req.query }));
  app.get('/status', (req, res) => res.status(201).send('created'));
  app.get('/redirect', (req, res) => res.redirect('/target'));
  app.get('/redirect301', (req, res) => res.redirect(301, '/moved'));
  app.get('/cookie', (req, res) => res.cookie('a', 'b', { path: '/', httpOnly: true }).clearCookie('old').send('c'));
  app.get('/attachment', (req, res) => res.attachment('report.txt').send('data'));
  app.get('/download', (req, res) => res.download(path.join(FIXTURES, 'public', 'data.txt')));
  app.get('/sendfile', (req, res) => res.sendFile(path.join(FIXTURES, 'public', 'data.txt')));
  app.get('/format', (req, res) => res.format({
    'text/plain': () => res.send('plain'),
    'application/json': () => res.json({ format: 'json' }),
    default: () => res.status(406).send('no'),
  }));
  app.get('/render', (req, res) => res.render('index', { title: 'T', items: ['a', 'b'] }));
  app.get('/req', (req, res) => res.json({
    get: req.get('x-thing'),
    is: req.is('json'),
    accepts: req.accepts(['html', 'json']),
    fresh: req.fresh,
    ip: req.ip,
    query: req.query,
    hostname: req.hostname,
    protocol: req.protocol,
    path: req.path,
  }));
  app.post('/json', express.json(), (req, res) => res.json({ got: req.body }));
  app.post('/form', express.urlencoded({ extended: false }), (req, res) => res.json({ got: req.body }));
  app.post('/raw', express.raw(), (req, res) => res.send(`raw ${req.body.length}`));
  app.post('/text', express.text(), (req, res) => res.send(`text ${req.body}`));
  app.get('/stream', (req, res) => {
    res.type('text/plain');
    Readable.from(['one ', 'two ', 'three']).pipe(res);
  });
  app.get('/throw', () => {
    throw new Error('boom');
  });
  // A fixed stack: the default handler's page shows it, and the frames
  // differ between the two servers.
  app.get('/next-error', (req, res, next) =>
    next(Object.assign(new Error('teapot'), { status: 418, stack: 'Error: teapot' })));
  app.use('/static', express.static(path.join(FIXTURES, 'public')));
  app.use((err, req, res, next) => {
    if (req.path === '/next-error') return next(err); // Express's own handler
    res.status(500).json({ error: err.message });
  });
  return app;
}

const EXPRESSES = [['Express 5', require('express')], ['Express 4', require('express4')]];

for (const [name, express] of EXPRESSES) {
  describe(`frameworks: ${name}`, function () {
    let ports;
    before(async function () {
      ports = await startBoth(makeApp(express));
    });
    after(cleanup);

    it('routes, with params and a query, X-Powered-By and ETag as on node:http', async function () {
      const { headers } = await same(ports, { path: '/' });
      assert.equal(headers['x-powered-by'], 'Express');
      assert.ok(headers.etag);
      const { body } = await same(ports, { path: '/users/42?x=1' });
      assert.deepEqual(JSON.parse(body), { id: '42', q: { x: '1' } });
    });

    it('answers 404 for an unknown path', async function () {
      const { res } = await same(ports, { path: '/nope' });
      assert.equal(res.statusCode, 404);
    });

    it('res.status, redirect, cookie and clearCookie, attachment', async function () {
      await same(ports, { path: '/status' });
      await same(ports, { path: '/redirect' });
      await same(ports, { path: '/redirect301', headers: { accept: 'text/html' } });
      const { headers } = await same(ports, { path: '/cookie' });
      assert.equal(headers['set-cookie'].length, 2);
      await same(ports, { path: '/attachment' });
    });

    it('res.download and res.sendFile, with Range and 304', async function () {
      await same(ports, { path: '/download' });
      const { headers } = await same(ports, { path: '/sendfile' });
      const { res } = await same(ports, { path: '/sendfile', headers: { range: 'bytes=10-19' } });
      assert.equal(res.statusCode, 206);
      const { res: notModified } = await same(ports, { path: '/sendfile', headers: { 'if-none-match': headers.etag } });
      assert.equal(notModified.statusCode, 304);
    });

    it('res.format and res.render with ejs', async function () {
      await same(ports, { path: '/format', headers: { accept: 'text/plain' } });
      await same(ports, { path: '/format', headers: { accept: 'application/json' } });
      await same(ports, { path: '/format', headers: { accept: 'image/png' } });
      const { body } = await same(ports, { path: '/render' });
      assert.equal(body.toString(), '<h1>T</h1>\n<ul><li>a</li><li>b</li></ul>\n');
    });

    it('req.get, is, accepts, fresh, ip, query, hostname, protocol', async function () {
      const { body } = await same(ports, {
        path: '/req?a=1&b=2',
        headers: { 'x-thing': 'yes', 'content-type': 'application/json', accept: 'application/json' },
      });
      const seen = JSON.parse(body);
      assert.equal(seen.get, 'yes');
      assert.equal(seen.ip, '127.0.0.1');
      assert.equal(seen.hostname, '127.0.0.1');
      assert.equal(seen.protocol, 'http');
    });

    it('express.json, urlencoded, raw and text', async function () {
      const post = (p, type, body) => same(ports, { method: 'POST', path: p, headers: { 'content-type': type } }, body);
      const { body } = await post('/json', 'application/json', '{"a":[1,2]}');
      assert.deepEqual(JSON.parse(body), { got: { a: [1, 2] } });
      await post('/json', 'application/json', '{bad json');
      await post('/form', 'application/x-www-form-urlencoded', 'a=1&b=two');
      await post('/raw', 'application/octet-stream', Buffer.alloc(1000, 7));
      await post('/text', 'text/plain', 'some text');
    });

    it('express.static, with HEAD and a conditional request', async function () {
      const { headers } = await same(ports, { path: '/static/style.css' });
      await same(ports, { method: 'HEAD', path: '/static/style.css' });
      await same(ports, { path: '/static/style.css', headers: { 'if-modified-since': headers['last-modified'] } });
      await same(ports, { path: '/static/missing.css' });
    });

    it('HEAD of a route, and a streamed body', async function () {
      await same(ports, { method: 'HEAD', path: '/' });
      const { body } = await same(ports, { path: '/stream' });
      assert.equal(body.toString(), 'one two three');
    });

    it('error middleware, and the default error handler', async function () {
      await same(ports, { path: '/throw' });
      const { res } = await same(ports, { path: '/next-error' });
      assert.equal(res.statusCode, 418);
    });

    it('serves several requests on one keep-alive connection', async function () {
      const agent = new (require('node:http').Agent)({ keepAlive: true, maxSockets: 1 });
      try {
        for (const p of ['/', '/users/1', '/static/style.css', '/nope']) {
          const { res } = await request(ports.port, { path: p, agent });
          assert.ok(res.statusCode === 200 || res.statusCode === 404);
        }
      } finally {
        agent.destroy();
      }
    });

    it('is driven by supertest against the node-uring server', async function () {
      await supertest(ports.server).get('/users/7').expect(200, { id: '7', q: {} });
      await supertest(ports.server).post('/json').send({ x: 1 }).expect(200, { got: { x: 1 } });
    });
  });
}

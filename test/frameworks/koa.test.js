'use strict';

// Koa on node-uring answers as it does on node:http, byte for byte
// (test/frameworks/compare.js): @koa/router, koa-bodyparser, koa-static.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { Readable } = require('node:stream');
const Koa = require('koa');
const Router = require('@koa/router');
const bodyParser = require('koa-bodyparser');
const serve = require('koa-static');
const { cleanup } = require('../helpers');
const { startBoth, same } = require('./compare');

const PUBLIC = path.join(__dirname, '..', 'fixtures', 'frameworks', 'public');

function makeApp() {
  const app = new Koa();
  app.silent = true; // errors are answered, not logged
  const router = new Router();
  router.get('/string', (ctx) => {
    ctx.body = 'hello';
  });
  router.get('/buffer', (ctx) => {
    ctx.body = Buffer.from('bytes');
  });
  router.get('/stream', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = Readable.from(['a', 'b', 'c']);
  });
  router.get('/file', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = fs.createReadStream(path.join(PUBLIC, 'data.txt'));
  });
  router.get('/json', (ctx) => {
    ctx.body = { ok: true, list: [1, 2] };
  });
  router.get('/status', (ctx) => {
    ctx.status = 202;
    ctx.message = 'Taken';
    ctx.body = 'later';
  });
  router.get('/empty', (ctx) => {
    ctx.status = 204;
  });
  router.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id, query: ctx.query };
  });
  router.get('/redirect', (ctx) => ctx.redirect('/string'));
  router.get('/throw', () => {
    throw new Error('boom');
  });
  router.get('/throw-status', (ctx) => ctx.throw(403, 'nope'));
  router.get('/raw', (ctx) => {
    ctx.body = {
      isNodeReq: ctx.req instanceof http.IncomingMessage,
      isNodeRes: ctx.res instanceof http.ServerResponse,
      ip: ctx.ip,
      host: ctx.host,
      writable: ctx.res.socket.writable,
    };
  });
  router.post('/body', (ctx) => {
    ctx.body = { got: ctx.request.body };
  });
  app.use(bodyParser());
  app.use(router.routes()).use(router.allowedMethods());
  app.use(serve(PUBLIC));
  return app;
}

describe('frameworks: Koa', function () {
  let ports;
  before(async function () {
    ports = await startBoth(makeApp().callback());
  });
  after(cleanup);

  it('ctx.body as a string, a Buffer, a stream and JSON', async function () {
    await same(ports, { path: '/string' });
    await same(ports, { path: '/buffer' });
    const { body } = await same(ports, { path: '/stream' });
    assert.equal(body.toString(), 'abc');
    await same(ports, { path: '/file' });
    await same(ports, { path: '/json' });
  });

  it('ctx.status and ctx.message, 204, 404 and 405', async function () {
    const { res } = await same(ports, { path: '/status' });
    assert.equal(res.statusMessage, 'Taken');
    await same(ports, { path: '/empty' });
    await same(ports, { path: '/missing' });
    await same(ports, { method: 'PUT', path: '/string' });
  });

  it('router params and query, redirects', async function () {
    const { body } = await same(ports, { path: '/users/9?a=b' });
    assert.deepEqual(JSON.parse(body), { id: '9', query: { a: 'b' } });
    await same(ports, { path: '/redirect' });
  });

  it('HEAD keeps Content-Length', async function () {
    const { headers } = await same(ports, { method: 'HEAD', path: '/string' });
    assert.equal(headers['content-length'], '5');
    await same(ports, { method: 'HEAD', path: '/json' });
  });

  it('errors: thrown, and ctx.throw with a status', async function () {
    const { res } = await same(ports, { path: '/throw' });
    assert.equal(res.statusCode, 500);
    await same(ports, { path: '/throw-status' });
  });

  it('koa-bodyparser: JSON and a form', async function () {
    const post = (type, body) => same(ports, { method: 'POST', path: '/body', headers: { 'content-type': type } }, body);
    const { body } = await post('application/json', '{"a":1}');
    assert.deepEqual(JSON.parse(body), { got: { a: 1 } });
    await post('application/x-www-form-urlencoded', 'x=1&y=2');
    await post('application/json', '{broken');
  });

  it('koa-static, with a conditional request', async function () {
    const { headers } = await same(ports, { path: '/style.css' });
    await same(ports, { path: '/style.css', headers: { 'if-modified-since': headers['last-modified'] } });
    await same(ports, { method: 'HEAD', path: '/data.txt' });
  });

  it('ctx.req and ctx.res are node:http objects on a live socket', async function () {
    const { body } = await same(ports, { path: '/raw', headers: { host: 'example.test' } });
    assert.deepEqual(JSON.parse(body), {
      isNodeReq: true, isNodeRes: true, ip: '127.0.0.1', host: 'example.test', writable: true,
    });
  });
});

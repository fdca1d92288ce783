'use strict';

// Fastify on node-uring, through its serverFactory option: every request
// goes to the same app on node:http too, and the responses must match byte
// for byte (test/frameworks/compare.js).

const assert = require('node:assert/strict');
const { Readable } = require('node:stream');
const Fastify = require('fastify');
const { startOnBoth, compareResponses, HOST } = require('./compare');

// The app, on a server from createServer.
function fastifyApp(createServer) {
  const app = Fastify({
    serverFactory: (handler) => createServer(handler),
    // Large bodies are part of the tests.
    bodyLimit: 8 * 1024 * 1024,
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-hook', 'onRequest');
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url === '/hooked') return payload.replace('handler', 'onSend');
    return payload;
  });

  app.get('/json', async () => ({ hello: 'world', n: 1 }));
  app.get('/hooked', async (req, reply) => {
    reply.type('text/plain');
    return 'from the handler';
  });
  app.get('/users/:id', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
      querystring: { type: 'object', properties: { full: { type: 'boolean' } } },
      response: {
        200: {
          type: 'object',
          properties: { id: { type: 'integer' }, full: { type: 'boolean' } },
        },
      },
    },
  }, async (req) => ({ id: req.params.id, full: req.query.full ?? false, secret: 'not serialized' }));
  app.post('/echo', {
    schema: {
      body: {
        type: 'object', required: ['name'],
        properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      },
    },
  }, async (req) => ({ got: req.body }));
  app.post('/raw', async (req) => ({ bytes: JSON.stringify(req.body).length }));
  app.get('/stream', (req, reply) => {
    reply.type('text/plain').send(Readable.from(['one,', 'two,', 'three']));
  });
  app.get('/big', (req, reply) => {
    reply.type('application/octet-stream').send(Buffer.alloc(1024 * 1024, 'x'));
  });
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  app.get('/teapot', async (req, reply) => {
    reply.code(418).header('x-custom', ['a', 'b']);
    return { short: 'and stout' };
  });
  app.get('/trailer', (req, reply) => {
    reply.trailer('x-sum', async () => 'abc');
    reply.send('with a trailer');
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ missing: req.url });
  });
  return app;
}

// start(createServer) for compare.js: the app listening on an ephemeral port.
async function startFastify(createServer) {
  const app = fastifyApp(createServer);
  await app.listen({ port: 0, host: HOST });
  return { app, port: app.server.address().port, close: () => app.close() };
}

describe('Fastify on node-uring (serverFactory), against node:http', () => {
  let pair;
  before(async () => {
    pair = await startOnBoth(startFastify);
  });
  after(async () => {
    if (pair) await pair.close();
  });

  it('serves a route returning JSON', async () => {
    const res = await compareResponses(pair, { path: '/json' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(JSON.parse(res.body), { hello: 'world', n: 1 });
  });

  it('validates params and querystring and serializes by the response schema', async () => {
    const res = await compareResponses(pair, { path: '/users/42?full=true' });
    assert.deepEqual(JSON.parse(res.body), { id: 42, full: true });
    const bad = await compareResponses(pair, { path: '/users/abc' });
    assert.equal(bad.statusCode, 400);
  });

  it('parses and validates a JSON body', async () => {
    const body = JSON.stringify({ name: 'uring', tags: ['a', 'b'] });
    const res = await compareResponses(pair, {
      method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body,
    });
    assert.deepEqual(JSON.parse(res.body), { got: { name: 'uring', tags: ['a', 'b'] } });
    const invalid = await compareResponses(pair, {
      method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"tags":[]}',
    });
    assert.equal(invalid.statusCode, 400);
    const broken = await compareResponses(pair, {
      method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"name":',
    });
    assert.equal(broken.statusCode, 400);
  });

  it('runs onRequest and onSend hooks', async () => {
    const res = await compareResponses(pair, { path: '/hooked' });
    assert.equal(res.body.toString(), 'from the onSend');
    assert.ok(res.rawHeaders.includes('x-hook'));
  });

  it('streams a Readable reply (chunked)', async () => {
    const res = await compareResponses(pair, { path: '/stream' });
    assert.equal(res.body.toString(), 'one,two,three');
  });

  it('sends a custom status with a repeated header', async () => {
    const res = await compareResponses(pair, { path: '/teapot' });
    assert.equal(res.statusCode, 418);
  });

  it('answers 404 from the not-found handler and 500 for a throwing handler', async () => {
    const missing = await compareResponses(pair, { path: '/nope?x=1' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(JSON.parse(missing.body), { missing: '/nope?x=1' });
    const boom = await compareResponses(pair, { path: '/boom' });
    assert.equal(boom.statusCode, 500);
    assert.equal(JSON.parse(boom.body).message, 'boom');
  });

  it('takes a 4 MiB JSON body in chunks and sends a 1 MiB reply', async () => {
    const items = Array.from({ length: 4 * 1024 }, (_, i) => `${i}`.padEnd(1000, '.'));
    const json = JSON.stringify({ items });
    const chunks = [];
    for (let i = 0; i < json.length; i += 65536) chunks.push(json.slice(i, i + 65536));
    const res = await compareResponses(pair, {
      method: 'POST', path: '/raw', headers: { 'content-type': 'application/json' }, body: chunks,
    });
    assert.deepEqual(JSON.parse(res.body), { bytes: json.length });
    const big = await compareResponses(pair, { path: '/big' });
    assert.equal(big.body.length, 1024 * 1024);
  });

  // Waiting for res.addTrailers() on node-uring's ServerResponse (the
  // objects branch): fastify's reply.trailer() needs it.
  it('sends reply.trailer() trailers (waiting: needs res.addTrailers)', async function () {
    const { ServerResponse } = require('../../lib/response');
    if (typeof ServerResponse.prototype.addTrailers !== 'function') this.skip();
    const res = await compareResponses(pair, { path: '/trailer' });
    assert.deepEqual(res.trailers, ['x-sum', 'abc']);
  });
});

// Fastify's own handler-timeout.test.js ("handlerTimeout firing after the
// reply ended but before it finished is a no-op"): a request's 'close',
// which aborts request.signal, comes after its response's 'finish', as
// node:http's server dumps the request from a 'finish' listener; here
// 'finish' is held back by a wrapped emit().
describe("Fastify's handlerTimeout after the reply ended, on both servers", () => {
  for (const [name, make] of [['node-uring', () => require('../helpers').createServer],
    ['node:http', () => require('node:http').createServer]]) {
    it(`leaves request.signal alone while 'finish' is held back (${name})`, async () => {
      const createServer = make();
      const app = Fastify({ serverFactory: (handler) => createServer(handler), handlerTimeout: 50 });
      const seen = {};
      app.get('/', async (request, reply) => {
        seen.signal = request.signal;
        const res = reply.raw;
        const emit = res.emit;
        res.emit = function (event, ...args) {
          if (event !== 'finish') return emit.call(this, event, ...args);
          setTimeout(() => {
            seen.sentAtFinish = reply.sent;
            seen.abortedAtFinish = seen.signal.aborted;
            emit.call(this, event, ...args);
          }, 200);
          return true;
        };
        return 'ok';
      });
      await app.listen({ port: 0, host: HOST });
      try {
        const res = await fetch(`http://${HOST}:${app.server.address().port}/`);
        assert.equal(await res.text(), 'ok');
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual({ ...seen, signal: seen.signal.aborted },
          { sentAtFinish: true, abortedAtFinish: false, signal: false });
      } finally {
        await app.close();
      }
    });
  }
});

describe('fastify.close() on node-uring', () => {
  it('closes the server, so that it stops listening and frees the port', async () => {
    const { createServer } = require('../helpers');
    const { app, port } = await startFastify(createServer);
    const server = app.server;
    assert.equal(server.listening, true);
    assert.ok(port > 0);
    await app.close();
    assert.equal(server.listening, false);
    assert.equal(server._handle, null);
    // The port is free again.
    const again = await startFastify(createServer);
    await again.close();
  });
});

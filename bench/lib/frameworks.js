'use strict';

// The framework cases' app: "hello JSON", one GET route answering a small
// JSON object and one POST route echoing the JSON body it parsed, written
// the idiomatic way in each framework, on node-uring or on node:http.
// bench/servers/<framework>-<uring|node>.js each start one.

const http = require('node:http');
const { serve, Unsupported } = require('./serve');

const HELLO_JSON = { message: 'Hello, World!' };
// What bench/wrk/json-post.lua (and autocannon) POST.
const POST_BODY = '{"name":"node-uring","n":1,"tags":["a","b"]}';
const POST_TYPE = 'application/json';

// Each framework's app on a server from createServer(options, listener):
// returns the server (listen() called).
const APPS = {
  express(createServer, port, host, options) {
    const express = load('express');
    const app = express();
    app.get('/json', (req, res) => res.json(HELLO_JSON));
    app.post('/json', express.json(), (req, res) => res.json(req.body));
    return createServer(options, app).listen(port, host);
  },
  koa(createServer, port, host, options) {
    const Koa = load('koa');
    const app = new Koa();
    // Koa has no body parser of its own (koa-bodyparser is a package of
    // its own): the body is read and parsed here.
    app.use(async (ctx) => {
      if (ctx.path !== '/json') return; // Koa's 404
      if (ctx.method === 'GET') {
        ctx.body = HELLO_JSON;
      } else if (ctx.method === 'POST') {
        ctx.body = JSON.parse(await readBody(ctx.req));
      }
    });
    return createServer(options, app.callback()).listen(port, host);
  },
  fastify(createServer, port, host, options) {
    const fastify = load('fastify');
    const app = fastify({ serverFactory: (handler) => createServer(options, handler) });
    app.get('/json', async () => HELLO_JSON);
    app.post('/json', async (req) => req.body);
    app.listen({ port, host }).catch((err) => app.server.emit('error', err));
    return app.server;
  },
  hono(createServer, port, host, options) {
    const { Hono } = load('hono');
    const { serve: honoServe } = load('@hono/node-server');
    const app = new Hono();
    app.get('/json', (c) => c.json(HELLO_JSON));
    app.post('/json', async (c) => c.json(await c.req.json()));
    return honoServe({ fetch: app.fetch, port, hostname: host, createServer, serverOptions: options });
  },
};

// require(name), or Unsupported when it is not installed: the bench then
// skips the server, saying so.
function load(name) {
  try {
    return require(name);
  } catch (err) {
    if (err.code === 'MODULE_NOT_FOUND') throw new Unsupported(`${name} is not installed (npm install ${name})`);
    throw err;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

// createServer for the backend: node-uring on io_uring only (a silent
// fallback to node:http would measure the wrong thing), or node:http.
function serverMaker(backend) {
  if (backend === 'node') return http.createServer;
  const uring = require('../..');
  return (options, listener) => uring.createServer({ ...options, backend: 'uring' }, listener);
}

// One request to the server just started: resolves { status, type, body }.
function ask(port, host, method, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host, port, method, path: '/json', agent: false,
      headers: body === undefined ? {} : { 'content-type': POST_TYPE },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: text }));
    });
    req.on('error', reject);
    req.setTimeout(3000, () => req.destroy(new Error(`${method} /json timed out`)));
    req.end(body);
  });
}

// Whether the app answers both routes as it should: null, or what is wrong.
async function checkAnswers(port, host) {
  const expected = [['GET', undefined, HELLO_JSON], ['POST', POST_BODY, JSON.parse(POST_BODY)]];
  for (const [method, body, want] of expected) {
    let res;
    try {
      res = await ask(port, host, method, body);
    } catch (err) {
      return `${method} /json failed: ${err.message}`;
    }
    let got;
    try {
      got = JSON.parse(res.body);
    } catch {
      got = undefined;
    }
    if (res.status !== 200 || !/^application\/json/.test(res.type ?? '') ||
        JSON.stringify(got) !== JSON.stringify(want)) {
      return `${method} /json answered ${res.status} ${res.type} ${JSON.stringify(res.body.slice(0, 80))}`;
    }
  }
  return null;
}

// Serves framework's app on backend ('uring' or 'node'), once it answers
// both routes right; otherwise the bench skips it, saying why.
function serveFramework(framework, backend) {
  serve((port, host, options) => {
    try {
      return APPS[framework](serverMaker(backend), port, host, options);
    } catch (err) {
      if (err instanceof Unsupported) throw err;
      throw new Unsupported(`${framework} does not start on ${backend}: ${err.message}`);
    }
  }, { check: checkAnswers });
}

module.exports = { serveFramework, HELLO_JSON, POST_BODY, POST_TYPE, FRAMEWORKS: Object.keys(APPS) };

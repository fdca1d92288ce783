'use strict';

// Which files of each framework's own test suite README ("Frameworks")
// reports on, run with scripts/framework-suite.js:
//
//   node scripts/framework-suites.js NAME DIR
//
// DIR is the suite's test folder in your copy of the framework, laid out
// as the suite expects (its tests require('..') for the framework itself):
// Fastify ships its tests in the npm package (node_modules/fastify/test;
// copy the package out so that its devDependencies can be installed next
// to it), ws does not (bring test/ from its repository, with ws's lib/
// beside it), nor does @hono/node-server (DIR is then the folder holding
// its repository's test/ and vitest.config.ts; run with
// NODE_OPTIONS=--expose-gc), nor socket.io (its tests are TypeScript: see
// README, Frameworks), nor Express (DIR is then the folder holding its
// repository's test/ and examples/, with an index.js and lib/utils.js that
// re-export the package's), nor Koa (DIR is then laid out as its entry
// below says). Without NAME, lists the suites and their files.

const path = require('node:path');
const { spawnSync } = require('node:child_process');

const SUITES = {
  // websocket-server.test.js starts servers every way ws does;
  // websocket.test.js (the client's) starts a WebSocketServer or an
  // http.Server for most of its tests, and reads test/fixtures/*.pem from
  // the working directory (link test/test to test/).
  ws: ['websocket-server.test.js', 'websocket.test.js'],
  // The files whose tests start a server with fastify.listen() (the others
  // use fastify.inject(), which never reaches http.createServer()).
  fastify: [
    '404s.test.js', '500s.test.js', 'allow-unsafe-regex.test.js', 'als.test.js', 'async-await.test.js',
    'async-dispose.test.js', 'async_hooks.test.js', 'body-limit.test.js', 'case-insensitive.test.js',
    'child-logger-factory.test.js', 'client-timeout.test.js', 'close-pipelining.test.js', 'close.test.js',
    'custom-http-server.test.js', 'custom-parser-async.test.js', 'custom-parser.2.test.js',
    'custom-querystring-parser.test.js', 'decorator.test.js', 'delete.test.js', 'fastify-instance.test.js',
    'genReqId.test.js', 'handler-timeout.test.js', 'header-overflow.test.js', 'hooks-async.test.js',
    'hooks.on-listen.test.js', 'hooks.on-ready.test.js', 'hooks.test.js', 'issue-4959.test.js',
    'listen.1.test.js', 'listen.2.test.js', 'listen.3.test.js', 'listen.4.test.js', 'listen.5.test.js',
    'max-requests-per-socket.test.js', 'nullable-validation.test.js', 'output-validation.test.js',
    'plugin.1.test.js', 'plugin.2.test.js', 'plugin.3.test.js', 'post-empty-body.test.js', 'promises.test.js',
    'proto-poisoning.test.js', 'register.test.js', 'reply-early-hints.test.js', 'reply-error.test.js',
    'reply-trailers.test.js', 'request-error.test.js', 'request-header-host.test.js', 'request-id.test.js',
    'route-hooks.test.js', 'route-shorthand.test.js', 'route.1.test.js', 'route.8.test.js',
    'router-compile.test.js', 'server.test.js', 'skip-reply-send.test.js', 'stream.1.test.js',
    'stream.3.test.js', 'stream.5.test.js', 'trust-proxy.test.js', 'upgrade.test.js', 'url-rewriting.test.js',
    'use-semicolon-delimiter.test.js', 'versioned-routes.test.js', 'web-api.test.js',
  ],
  // @hono/node-server 2.1.9's Vitest suite: the files whose tests start a
  // server (DIR is the suite's root, with its vitest.config.ts; see README,
  // Frameworks, for making its ../src imports reach the package's dist).
  hono: [
    'test/server.test.ts', 'test/listener.test.ts', 'test/request-client-disconnect.test.ts',
    'test/server-socket.test.ts', 'test/serve-static.test.ts', 'test/content-length.test.ts',
    'test/early-hints.test.ts', 'test/websocket.test.ts',
  ],
  // socket.io 4.8's test/*.ts (from its repository, packages/socket.io)
  // transpiled to .js beside them; uws.ts needs uWebSockets.js.
  socketio: [
    'server-attachment.js', 'handshake.js', 'close.js', 'namespaces.js', 'socket.js', 'messaging-many.js',
    'middleware.js', 'socket-middleware.js', 'v2-compatibility.js', 'socket-timeout.js', 'utility-methods.js',
    'connection-state-recovery.js',
  ],
  // Koa 3's __tests__/ (node:test), all of it. DIR holds __tests__/ and
  // test-helpers/ from Koa's repository, with Koa's package.json and
  // LICENSE (tests read them from the working directory), an index.js
  // exporting require('koa') and a lib/ whose files export the package's
  // (require('koa/lib/context.js'), ...): the tests' own require()s of
  // Koa's dependencies then reach the copies Koa uses. Most of the tests
  // build a context by hand and never reach a server.
  koa: [
    ...['compose', 'context', 'currentContext', 'flushHeaders', 'index', 'inspect', 'onerror', 'request',
      'respond', 'response', 'toJSON', 'use'].map((f) => `__tests__/application/${f}.test.js`),
    ...['assert', 'cookies', 'inspect', 'onerror', 'state', 'throw', 'toJSON']
      .map((f) => `__tests__/context/${f}.test.js`),
    ...['accept', 'accepts', 'acceptsCharsets', 'acceptsEncodings', 'acceptsLanguages', 'charset', 'fresh', 'get',
      'header', 'headers', 'host', 'hostname', 'href', 'idempotent', 'inspect', 'ip-port', 'ip', 'ips', 'is',
      'length', 'origin', 'path', 'protocol', 'query-boolean', 'query', 'querystring', 'search', 'secure', 'stale',
      'subdomains', 'type', 'whatwg-url'].map((f) => `__tests__/request/${f}.test.js`),
    ...['append', 'attachment', 'back', 'body', 'etag', 'flushHeaders', 'get', 'has', 'header', 'headers',
      'inspect', 'is', 'last-modified', 'length', 'message', 'redirect', 'remove', 'set', 'socket', 'status', 'type',
      'vary', 'writable'].map((f) => `__tests__/response/${f}.test.js`),
    '__tests__/lib/search-params.test.js', '__tests__/load-with-esm.test.js',
  ],
  // Express 5's test/ (the npm package ships none) and the 6 acceptance
  // files whose examples/ work with Express 5.3.0; DIR is the copy's root
  // (its tests read fixtures relative to it), run as Express's package.json
  // runs them, with test/support/env and --check-leaks.
  express: {
    mochaArgs: '--require test/support/env --check-leaks',
    files: [
      'Route.js', 'Router.js', 'app.all.js', 'app.engine.js', 'app.head.js', 'app.js', 'app.listen.js',
      'app.locals.js', 'app.options.js', 'app.param.js', 'app.render.js', 'app.request.js', 'app.response.js',
      'app.route.js', 'app.router.js', 'app.routes.error.js', 'app.use.js', 'config.js', 'exports.js',
      'express.json.js', 'express.raw.js', 'express.static.js', 'express.text.js', 'express.urlencoded.js',
      'middleware.basic.js', 'regression.js', 'req.accepts.js', 'req.acceptsCharsets.js',
      'req.acceptsEncodings.js', 'req.acceptsLanguages.js', 'req.baseUrl.js', 'req.fresh.js', 'req.get.js',
      'req.host.js', 'req.hostname.js', 'req.ip.js', 'req.ips.js', 'req.is.js', 'req.path.js',
      'req.protocol.js', 'req.query.js', 'req.range.js', 'req.route.js', 'req.secure.js',
      'req.signedCookies.js', 'req.stale.js', 'req.subdomains.js', 'req.xhr.js', 'res.append.js',
      'res.attachment.js', 'res.clearCookie.js', 'res.cookie.js', 'res.download.js', 'res.format.js',
      'res.get.js', 'res.json.js', 'res.jsonp.js', 'res.links.js', 'res.locals.js', 'res.location.js',
      'res.redirect.js', 'res.render.js', 'res.send.js', 'res.sendFile.js', 'res.sendStatus.js', 'res.set.js',
      'res.status.js', 'res.type.js', 'res.vary.js', 'utils.js',
      'acceptance/auth.js', 'acceptance/error.js', 'acceptance/multi-router.js', 'acceptance/params.js',
      'acceptance/resource.js', 'acceptance/web-service.js',
    ].map((f) => `test/${f}`),
  },
};

function main([name, dir]) {
  if (name === undefined) {
    for (const [suite, files] of Object.entries(SUITES)) console.log(`${suite}: ${(files.files ?? files).join(' ')}`);
    return;
  }
  const suite = Array.isArray(SUITES[name]) ? { files: SUITES[name] } : SUITES[name];
  if (suite === undefined || dir === undefined) {
    console.error(`usage: node scripts/framework-suites.js [${Object.keys(SUITES).join('|')} DIR]`);
    process.exit(2);
  }
  const mochaArgs = suite.mochaArgs ? ['--mocha-args', suite.mochaArgs] : [];
  const r = spawnSync(process.execPath, [path.join(__dirname, 'framework-suite.js'), ...mochaArgs, dir, ...suite.files],
    { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
}

main(process.argv.slice(2));

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
// README, Frameworks). Without NAME, lists the suites and their files.

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
  express: [
    'res.send.js', 'res.json.js', 'res.set.js', 'res.status.js', 'res.redirect.js', 'res.download.js',
    'req.ip.js', 'req.hostname.js', 'req.protocol.js', 'app.router.js', 'express.json.js',
  ],
};

function main([name, dir]) {
  if (name === undefined) {
    for (const [suite, files] of Object.entries(SUITES)) console.log(`${suite}: ${files.join(' ')}`);
    return;
  }
  const files = SUITES[name];
  if (files === undefined || dir === undefined) {
    console.error(`usage: node scripts/framework-suites.js [${Object.keys(SUITES).join('|')} DIR]`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, [path.join(__dirname, 'framework-suite.js'), dir, ...files],
    { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
}

main(process.argv.slice(2));

'use strict';

// fastify (a devDependency) doing what bench/lib/handler.js does, the
// fastify way: routes, a raw-body parser for the POST echo, reply.send.
const fastify = require('fastify');
const { BIG } = require('../lib/handler');
const { serve } = require('../lib/serve');

serve((port, host, options) => {
  const app = fastify(options);
  // Any content type arrives as one Buffer, which the POST route echoes.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => done(null, body));
  app.get('/64k', (req, reply) => reply.type('application/octet-stream').send(BIG));
  app.get('/*', (req, reply) => reply.type('text/plain').send('Hello World'));
  app.post('/*', (req, reply) => reply.type('application/octet-stream').send(req.body ?? Buffer.alloc(0)));
  app.listen({ port, host }).catch((err) => app.server.emit('error', err));
  return app.server;
});

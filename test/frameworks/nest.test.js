'use strict';

// NestJS on its Express platform, listening through node-uring, answers as
// the same app does on node:http, byte for byte (test/frameworks/compare.js):
// controllers with params, query and a JSON body, an injected service, a
// guard, pipes, an exception filter, a 404 and a StreamableFile.
//
// Plain JS, no compile step: the decorators are applied as TypeScript's
// output applies them (Reflect.decorate, and the parameter decorators
// called with their index), and the constructor's injection is named with
// @Inject instead of emitted design:paramtypes metadata.

require('reflect-metadata');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const express = require('express');
const {
  Module, Controller, Injectable, Inject, Get, Post, Param, Query, Body, Headers, HttpCode, Header,
  UseGuards, UsePipes, UseFilters, Catch, ParseIntPipe, BadRequestException, ForbiddenException,
  HttpException, StreamableFile, Res,
} = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { ExpressAdapter } = require('@nestjs/platform-express');
const { HOST, createServer, cleanup, listening, trackServer, request } = require('../helpers');
const { same } = require('./compare');

const DATA = path.join(__dirname, '..', 'fixtures', 'frameworks', 'public', 'data.txt');

// What TypeScript emits for a decorated method: the method decorators, and
// each parameter decorator given the parameter's index.
function method(target, name, decorators, params = []) {
  const all = [...decorators, ...params.map((param, i) => (t, k) => param(t, k, i))];
  Reflect.decorate(all, target.prototype, name, Object.getOwnPropertyDescriptor(target.prototype, name));
}

class UsersService {
  find(id) {
    return { id, name: `user ${id}` };
  }
}
Reflect.decorate([Injectable()], UsersService);

// Lets a request through when it carries "x-role: admin".
class AdminGuard {
  canActivate(context) {
    return context.switchToHttp().getRequest().headers['x-role'] === 'admin';
  }
}
Reflect.decorate([Injectable()], AdminGuard);

// A body must carry a string "name"; answers 400 otherwise.
class NamePipe {
  transform(value) {
    if (typeof value?.name !== 'string') throw new BadRequestException('name must be a string');
    return { ...value, name: value.name.trim() };
  }
}
Reflect.decorate([Injectable()], NamePipe);

// Answers HttpExceptions in a shape of its own, through Express's res.
class ShapeFilter {
  catch(exception, host) {
    const ctx = host.switchToHttp();
    ctx.getResponse().status(exception.getStatus()).json({
      failed: ctx.getRequest().url, status: exception.getStatus(), message: exception.message,
    });
  }
}
Reflect.decorate([Catch(HttpException)], ShapeFilter);

class UsersController {
  constructor(users) {
    this.users = users;
  }

  one(id, verbose) {
    return { ...this.users.find(id), verbose: verbose === 'yes', type: typeof id };
  }

  create(body, agent) {
    return { created: body, agent };
  }

  secret() {
    return { secret: 42 };
  }

  teapot() {
    throw new HttpException('short and stout', 418);
  }

  forbidden() {
    throw new ForbiddenException();
  }

  crash() {
    throw new Error('not an HttpException');
  }

  file() {
    return new StreamableFile(fs.createReadStream(DATA), { type: 'text/plain', disposition: 'inline' });
  }

  raw(res) {
    res.status(203).set('x-raw', 'yes').send('through express');
  }
}
method(UsersController, 'one', [Get(':id')], [Param('id', ParseIntPipe), Query('verbose')]);
method(UsersController, 'create', [Post(), HttpCode(201), Header('x-made', 'nest'), UsePipes(NamePipe)],
  [Body(), Headers('user-agent')]);
method(UsersController, 'secret', [Get('admin/secret'), UseGuards(AdminGuard)]);
method(UsersController, 'teapot', [Get('filtered/teapot'), UseFilters(ShapeFilter)]);
method(UsersController, 'forbidden', [Get('plain/forbidden')]);
method(UsersController, 'crash', [Get('plain/crash')]);
method(UsersController, 'file', [Get('files/data')]);
method(UsersController, 'raw', [Get('express/raw')], [Res()]);
Inject(UsersService)(UsersController, undefined, 0);
Reflect.decorate([Controller('users')], UsersController);

class AppModule {}
Reflect.decorate([Module({ controllers: [UsersController], providers: [UsersService] })], AppModule);

// The Nest app on an Express app, initialized, listening through the given
// createServer on an ephemeral port: resolves the port.
async function startNest(make) {
  const app = express();
  const nest = await NestFactory.create(AppModule, new ExpressAdapter(app), { logger: false });
  await nest.init();
  const server = trackServer(make(app));
  server.on('close', () => nest.close());
  await listening(server, 0, HOST);
  return server;
}

describe('frameworks: NestJS (Express platform)', function () {
  let ports;
  before(async function () {
    const node = await startNest(http.createServer);
    const server = await startNest((app) => createServer(app));
    ports = { nodePort: node.address().port, port: server.address().port, server };
  });
  after(cleanup);

  it('routes with a param through ParseIntPipe, a query and an injected service', async function () {
    const { body, headers } = await same(ports, { path: '/users/7?verbose=yes' });
    assert.deepEqual(JSON.parse(body), { id: 7, name: 'user 7', verbose: true, type: 'number' });
    assert.equal(headers['x-powered-by'], 'Express');
    const { res } = await same(ports, { path: '/users/seven' });
    assert.equal(res.statusCode, 400);
  });

  it('takes a JSON body through a pipe, with HttpCode and Header', async function () {
    const post = (body) => same(ports, {
      method: 'POST', path: '/users', headers: { 'content-type': 'application/json', 'user-agent': 'nest-test' },
    }, body);
    const { res, body } = await post('{"name":"  ada  "}');
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['x-made'], 'nest');
    assert.deepEqual(JSON.parse(body), { created: { name: 'ada' }, agent: 'nest-test' });
    assert.equal((await post('{"name":1}')).res.statusCode, 400);
    assert.equal((await post('{not json')).res.statusCode, 400);
  });

  it('a guard answers 403 unless it lets the request through', async function () {
    assert.equal((await same(ports, { path: '/users/admin/secret' })).res.statusCode, 403);
    const { body } = await same(ports, { path: '/users/admin/secret', headers: { 'x-role': 'admin' } });
    assert.deepEqual(JSON.parse(body), { secret: 42 });
  });

  it('an exception filter, the built-in one, and a 500', async function () {
    const { res, body } = await same(ports, { path: '/users/filtered/teapot' });
    assert.equal(res.statusCode, 418);
    assert.deepEqual(JSON.parse(body), { failed: '/users/filtered/teapot', status: 418, message: 'short and stout' });
    assert.equal((await same(ports, { path: '/users/plain/forbidden' })).res.statusCode, 403);
    assert.equal((await same(ports, { path: '/users/plain/crash' })).res.statusCode, 500);
  });

  it('answers 404 for an unknown route and method', async function () {
    assert.equal((await same(ports, { path: '/nowhere' })).res.statusCode, 404);
    assert.equal((await same(ports, { method: 'DELETE', path: '/users/1' })).res.statusCode, 404);
  });

  it('streams a StreamableFile, and lets a handler use Express\'s res', async function () {
    const { body, headers } = await same(ports, { path: '/users/files/data' });
    assert.ok(body.equals(fs.readFileSync(DATA)));
    assert.equal(headers['content-disposition'], 'inline');
    const raw = await same(ports, { path: '/users/express/raw' });
    assert.equal(raw.res.statusCode, 203);
    assert.equal(raw.body.toString(), 'through express');
  });

  it('serves HEAD and keep-alive requests', async function () {
    await same(ports, { method: 'HEAD', path: '/users/3' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const p of ['/users/1', '/nowhere', '/users/files/data']) {
        const { res } = await request(ports.port, { path: p, agent });
        assert.ok(res.statusCode === 200 || res.statusCode === 404, `${p}: ${res.statusCode}`);
      }
    } finally {
      agent.destroy();
    }
  });
});

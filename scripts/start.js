'use strict';

// `npm start`: the classic demo, server_listen(28977).
const { server_listen } = require('..');

const port = Number(process.env.PORT) || 28977;
const server = server_listen(port);
server.on('listening', () => console.log(`http://localhost:${port}`));
server.on('error', (err) => {
  console.error(err.message);
  process.exitCode = 1;
});

#!/usr/bin/env node
'use strict';

// `npx node-uring probe`: this kernel's io_uring operations, as a table.
const { probe } = require('../lib/probe');

const USAGE = `Usage: node-uring <command>

Commands:
  probe    list the io_uring operations this kernel supports
  help     show this text
`;

function printProbe() {
  const { kernel, available, error, ops } = probe();
  console.log(`Linux ${kernel}: io_uring ${available ? 'available' : 'unavailable'}`);
  if (!available) console.log(`  ${error.message}`);
  const names = Object.keys(ops);
  for (const name of names) console.log(`${ops[name] ? '✅' : '❌'} IORING_OP_${name}`);
  const n = names.filter((name) => ops[name]).length;
  console.log(`${n} of ${names.length} operations supported`);
  return available ? 0 : 1;
}

const [command = 'help'] = process.argv.slice(2);
if (command === 'probe') {
  process.exitCode = printProbe();
} else if (command === 'help' || command === '--help' || command === '-h') {
  process.stdout.write(USAGE);
} else {
  process.stderr.write(`node-uring: unknown command '${command}'\n\n${USAGE}`);
  process.exitCode = 2;
}

'use strict';

// Makes a Docker seccomp profile that allows io_uring from a Docker default
// profile (profiles/seccomp/default.json of the engine you run), or the
// reverse:
//   node scripts/seccomp-profile.js allow < default.json > io_uring.json
//   node scripts/seccomp-profile.js deny  < io_uring.json > no_io_uring.json
// `allow` adds io_uring_setup, io_uring_enter and io_uring_register to the
// profile's unconditional allow rule (the one with no args, includes or
// excludes) and changes nothing else; `deny` takes them out of every rule,
// as Docker Engine 25.0's default profile does (moby/moby#46762).
// seccomp/io_uring.json was made with `allow` from Debian 12's docker.io
// (20.10.24) default profile; test:docker uses `deny` for the blocked case.
const IO_URING = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];

const isEmpty = (o) => o === undefined || o === null || Object.keys(o).length === 0;

function allow(profile) {
  const rule = profile.syscalls.find((r) => r.action === 'SCMP_ACT_ALLOW' &&
    isEmpty(r.args) && isEmpty(r.includes) && isEmpty(r.excludes));
  if (!rule) throw new Error('the profile has no unconditional SCMP_ACT_ALLOW rule to add io_uring to');
  for (const name of IO_URING) if (!rule.names.includes(name)) rule.names.push(name);
  return profile;
}

function deny(profile) {
  for (const rule of profile.syscalls) rule.names = rule.names.filter((n) => !IO_URING.includes(n));
  profile.syscalls = profile.syscalls.filter((r) => r.names.length > 0);
  return profile;
}

// Whether the profile lets every io_uring call through unconditionally.
function allowsIoUring(profile) {
  return IO_URING.every((name) => profile.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' &&
    isEmpty(r.args) && isEmpty(r.includes) && isEmpty(r.excludes) && r.names.includes(name)));
}

module.exports = { IO_URING, allow, deny, allowsIoUring };

if (require.main === module) {
  const mode = process.argv[2];
  const edit = { allow, deny }[mode];
  if (!edit) {
    console.error('usage: node scripts/seccomp-profile.js allow|deny < profile.json > out.json');
    process.exit(2);
  }
  const input = require('node:fs').readFileSync(0, 'utf8');
  process.stdout.write(JSON.stringify(edit(JSON.parse(input)), null, '\t') + '\n');
}

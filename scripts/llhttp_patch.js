#!/usr/bin/env node
'use strict';

// node scripts/llhttp_patch.js SOURCE OUTPUT: writes Debian's llhttp 8.1
// parser (SOURCE, /usr/share/llhttp/llhttp.c) to OUTPUT with what llhttp 9
// (Node 20's) changed that a client can tell:
//
// - chunk extensions (RFC 9112 7.1.1), which 8.1 gets wrong:
//   - after an unquoted value, the ';' of the next extension sent the
//     parser where only another ';' or the CR may come, so `5;a=b;c=d` was
//     refused (and `5;a=b;;c` taken);
//   - a quoted-string could not hold a quoted-pair: `5;q="a\"b"` was
//     refused;
//   - a quoted-string could hold DEL, which qdtext leaves out;
// - the QUERY method (llhttp 9's number 46, NU_HTTP_QUERY), which 8.1
//   refuses as an invalid method where node:http serves it.
//
// binding.gyp runs it before compiling llhttp, and so does the fuzz build.
// The file is generated code (llparse), and both its variants (strict and
// not) carry the same states, so each edit must match exactly twice: a
// Debian update that changes the text fails the build here, loudly, rather
// than compiling an unpatched or half-patched parser.

const fs = require('node:fs');

const S = 's_n_llhttp__internal__n_';
const QUOTED = `${S}chunk_extension_quoted_value`;
const PAIR = `${QUOTED}_quoted_pair`;
const QUERY = `${S}after_start_req_nu_query`;

// The head of the quoted value state and its lookup table's first eight
// rows (0x00-0x7f; 0 refuses a byte, 1 takes it, 2 ends the string),
// where "\\" (0x5c) and DEL (0x7f) are.
function quotedTable(backslash, del) {
  const ones = (n) => Array(n).fill('1, ').join('');
  return `    ${QUOTED}: {
      static uint8_t lookup_table[] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 1, 2, ${ones(13).trim()}
        ${ones(16).trim()}
        ${ones(16).trim()}
        ${ones(12)}${backslash}, 1, 1, 1,
        ${ones(16).trim()}
        ${ones(15)}${del},
`;
}

const EDITS = [
  {
    what: 'a token value ended by ";" goes on to the next extension',
    from: `        case 0:
          goto ${S}chunk_size_otherwise;
        case 21:
          goto ${S}pause_9;`,
    to: `        case 0:
          goto ${S}chunk_extensions;
        case 21:
          goto ${S}pause_9;`,
  },
  {
    what: 'and so does the parse resumed after a pause there',
    from: `  ${S}pause_9: {
    state->error = 0x15;
    state->reason = "on_chunk_extension_value pause";
    state->error_pos = (const char*) p;
    state->_current = (void*) (intptr_t) ${S}chunk_size_otherwise;`,
    to: `  ${S}pause_9: {
    state->error = 0x15;
    state->reason = "on_chunk_extension_value pause";
    state->error_pos = (const char*) p;
    state->_current = (void*) (intptr_t) ${S}chunk_extensions;`,
  },
  {
    what: 'the quoted-pair state has a number',
    from: `  ${QUOTED},\n`,
    to: `  ${QUOTED},\n  ${PAIR},\n`,
  },
  {
    what: 'the quoted value table: "\\" starts a quoted-pair, DEL is refused',
    from: quotedTable(0, 1),
    to: quotedTable(3, 0),
  },
  {
    what: 'the quoted value state goes to the quoted-pair state on "\\"',
    from: `        case 2: {
          p++;
          goto ${S}span_end_llhttp__on_chunk_extension_value_1;
        }
`,
    to: `        case 2: {
          p++;
          goto ${S}span_end_llhttp__on_chunk_extension_value_1;
        }
        case 3: {
          p++;
          goto ${PAIR};
        }
`,
  },
  {
    what: 'the quoted-pair state: "\\" ( HTAB / SP / VCHAR / obs-text )',
    from: `    case ${QUOTED}:\n`,
    to: `    case ${PAIR}:
    ${PAIR}: {
      if (p == endp) {
        return ${PAIR};
      }
      if (*p == 0x9 || (*p >= 0x20 && *p != 0x7f)) {
        p++;
        goto ${QUOTED};
      }
      goto ${S}span_end_llhttp__on_chunk_extension_value_2;
      /* UNREACHABLE */;
      abort();
    }
    case ${QUOTED}:\n`,
  },
  {
    what: 'the QUERY state has a number',
    from: `  ${S}after_start_req,\n`,
    to: `  ${QUERY},\n  ${S}after_start_req,\n`,
  },
  {
    what: 'the rest of QUERY, as the parser matches a method\'s letters',
    from: `static const unsigned char llparse_blob18[] = {\n`,
    to: `static const unsigned char nu_llhttp_blob_uery[] = {
  'U', 'E', 'R', 'Y'
};
static const unsigned char llparse_blob18[] = {\n`,
  },
  {
    what: 'QUERY is one of the methods an HTTP/x.x request may have',
    from: `      case 34:
        goto ${S}span_start_llhttp__on_version;
`,
    to: `      case 34:
        goto ${S}span_start_llhttp__on_version;
      case 46:
        goto ${S}span_start_llhttp__on_version;
`,
  },
  {
    what: 'a method\'s first letter: "Q" goes to the QUERY state, which ends as ' +
      'any other method does (stored, or refused with the parser\'s own error)',
    // The two variants number their error states apart: the one the
    // first letter's switch refuses with is read from it.
    pattern: new RegExp(`(    case ${S}after_start_req:\\n[^]*?` +
      `        case 'U': {\\n          p\\+\\+;\\n          goto ${S}after_start_req_63;\\n        }\\n)` +
      `(        default: {\\n          goto (${S}error_\\d+);\\n[^]*?\\n    }\\n)`, 'g'),
    replace: (all, head, tail, error) => `    case ${QUERY}:
    ${QUERY}: {
      llparse_match_t match_seq;

      if (p == endp) {
        return ${QUERY};
      }
      match_seq = llparse__match_sequence_id(state, p, endp, nu_llhttp_blob_uery, 4);
      p = match_seq.current;
      switch (match_seq.status) {
        case kMatchComplete: {
          p++;
          match = 46;
          goto ${S}invoke_store_method_1;
        }
        case kMatchPause: {
          return ${QUERY};
        }
        case kMatchMismatch: {
          goto ${error};
        }
      }
      /* UNREACHABLE */;
      abort();
    }
${head}        case 'Q': {
          p++;
          goto ${QUERY};
        }
${tail}`,
  },
];

// An edit replaces the text `from` by `to`, or what `pattern` (global)
// matches by what `replace` makes of each match.
function apply(text, { what, from, to, pattern, replace }) {
  const found = from !== undefined ? text.split(from).length - 1 : (text.match(pattern) || []).length;
  if (found !== 2) {
    throw new Error(`llhttp_patch: "${what}": the text to replace occurs ${found} ` +
      'time(s), not twice; has node-llhttp changed? Check the edit against the new source.');
  }
  return from !== undefined ? text.split(from).join(to) : text.replace(pattern, replace);
}

function patch(text) {
  for (const edit of EDITS) text = apply(text, edit);
  return `/* Patched by scripts/llhttp_patch.js: chunk extensions and QUERY as in llhttp 9. */\n${text}`;
}

function main([source, output]) {
  if (!source || !output) throw new Error('usage: node scripts/llhttp_patch.js SOURCE OUTPUT');
  const patched = patch(fs.readFileSync(source, 'latin1'));
  fs.writeFileSync(`${output}.tmp`, patched, 'latin1');
  fs.renameSync(`${output}.tmp`, output);
}

if (require.main === module) main(process.argv.slice(2));

module.exports = { patch };

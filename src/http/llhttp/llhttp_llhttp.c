/* The system llhttp (Debian node-llhttp), compiled into the addon with
 * hidden visibility: see binding.gyp. Its parser, /usr/share/llhttp/llhttp.c,
 * as scripts/llhttp_patch.js fixes it (the build writes the copy). */
#include "llhttp_patched.c"

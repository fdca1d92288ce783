/* The system llhttp (Debian node-llhttp), compiled into the addon with
 * hidden visibility: see binding.gyp. */
#include "/usr/share/llhttp/http.c"

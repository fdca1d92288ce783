{
  # nu_asan=1 (npm run build:asan) builds with AddressSanitizer and UBSan.
  #
  # One static library per layer of src/, each seeing only the headers of
  # the layers below it (its include_dirs; headers are included by name,
  # never by path), so that a layer reaching into another fails to build:
  #   core   src/core, and src for nu.h
  #   ws     ws (WebSocket frames and handshake: pure functions)
  #   queue  core, queue
  #   http   core, http, static, ws (http drives static's file.h, and runs
  #          ws's parser on connections in WebSocket mode)
  #   static core, http, static (static uses http's date.h)
  #   addon  everything
  # test/layers.test.js checks the same rules from the sources.
  "variables": {
    "nu_asan%": 0,
    "nu_warnings": [ "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter" ]
  },
  "target_defaults": {
    "cflags": [ "-fvisibility=hidden", "-fno-omit-frame-pointer" ],
    "cflags_c": [ "-std=gnu11" ],
    "cflags_cc": [ "-std=c++17" ],
    "defines": [ "_GNU_SOURCE" ],
    "conditions": [
      [ "nu_asan==1", {
        # The test build also has the test hooks (NU_TEST_HOOKS in the C).
        "defines": [ "NU_TEST_HOOKS" ],
        "cflags": [ "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined" ],
        "cflags_cc": [ "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined" ],
        "ldflags": [ "-fsanitize=address,undefined" ]
      } ]
    ]
  },
  "targets": [
    {
      # Debian's llhttp, compiled in rather than bound to Node's own copy
      # (another version, with another struct layout): hidden symbols here,
      # -Bsymbolic on the addon.
      # Its parser is patched first (scripts/llhttp_patch.js: chunk
      # extensions and QUERY as llhttp 9 reads them); llhttp_llhttp.c
      # includes the patched copy.
      "target_name": "nu_llhttp",
      "type": "static_library",
      "include_dirs": [ "/usr/share/include/llhttp", "<(INTERMEDIATE_DIR)" ],
      "cflags": [ "-w" ],
      "actions": [ {
        "action_name": "llhttp_patch",
        "inputs": [ "scripts/llhttp_patch.js", "/usr/share/llhttp/llhttp.c" ],
        "outputs": [ "<(INTERMEDIATE_DIR)/llhttp_patched.c" ],
        "action": [ "node", "scripts/llhttp_patch.js", "/usr/share/llhttp/llhttp.c", "<@(_outputs)" ]
      } ],
      "sources": [
        "src/http/llhttp/llhttp_api.c",
        "src/http/llhttp/llhttp_http.c",
        "src/http/llhttp/llhttp_llhttp.c"
      ],
      "direct_dependent_settings": {
        "include_dirs": [ "/usr/share/include/llhttp" ]
      }
    },
    {
      # The machinery the server and the queue share.
      "target_name": "nu_core",
      "type": "static_library",
      "include_dirs": [ "src", "src/core" ],
      "cflags": [ "<@(nu_warnings)" ],
      "sources": [
        "src/core/grow.c",
        "src/core/handoff.c",
        "src/core/listen.c",
        "src/core/ring.c",
        "src/core/thread.c",
        "src/core/worker.c"
      ]
    },
    {
      # WebSocket frames, UTF-8 and the handshake's accept key (RFC 6455).
      "target_name": "nu_ws",
      "type": "static_library",
      "include_dirs": [ "src/ws" ],
      "cflags": [ "<@(nu_warnings)" ],
      "sources": [
        "src/ws/frame.c",
        "src/ws/handshake.c",
        "src/ws/utf8.c"
      ]
    },
    {
      # The Ring API.
      "target_name": "nu_queue",
      "type": "static_library",
      "include_dirs": [ "src", "src/core", "src/queue" ],
      "cflags": [ "<@(nu_warnings)" ],
      "sources": [
        "src/queue/ops.c",
        "src/queue/probe.c",
        "src/queue/queue.c"
      ]
    },
    {
      # The HTTP server.
      "target_name": "nu_http",
      "type": "static_library",
      "dependencies": [ "nu_llhttp", "nu_ws" ],
      "include_dirs": [ "src", "src/core", "src/http", "src/static", "src/ws" ],
      "cflags": [ "<@(nu_warnings)" ],
      "sources": [
        "src/http/batch.c",
        "src/http/conn.c",
        "src/http/date.c",
        "src/http/head_end.c",
        "src/http/http.c",
        "src/http/loop.c",
        "src/http/out.c",
        "src/http/out_pool.c",
        "src/http/pubsub.c",
        "src/http/route.c",
        "src/http/server.c",
        "src/http/timeout.c",
        "src/http/topics.c",
        "src/http/wsconn.c"
      ]
    },
    {
      # Static files, served by the HTTP server's ring thread.
      "target_name": "nu_static",
      "type": "static_library",
      "dependencies": [ "nu_llhttp" ],
      "include_dirs": [ "src", "src/core", "src/http", "src/static" ],
      "cflags": [ "<@(nu_warnings)" ],
      "sources": [
        "src/static/conditional.c",
        "src/static/file.c",
        "src/static/mime.c",
        "src/static/mount.c"
      ]
    },
    {
      # The node-addon-api glue: the only C++, the only layer that sees all.
      "target_name": "node_uring",
      "dependencies": [
        "nu_core", "nu_queue", "nu_http", "nu_static", "nu_ws", "nu_llhttp",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "include_dirs": [ "src", "src/core", "src/http", "src/static", "src/queue", "src/ws" ],
      "sources": [
        "src/addon/init.cc",
        "src/addon/probe.cc",
        "src/addon/ring.cc",
        "src/addon/server.cc"
      ],
      "defines": [ "NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS" ],
      "cflags": [ "<@(nu_warnings)" ],
      "libraries": [ "-Wl,-Bstatic", "-luring", "-Wl,-Bdynamic" ],
      "ldflags": [ "-Wl,-Bsymbolic" ],
      "conditions": [
        # A prebuilt binary must load on any glibc Linux with Node: the C++
        # runtime is linked in, and the symbols of every static library
        # (liburing, libstdc++) stay inside the addon. Not under ASan,
        # whose runtime must see the C++ allocations.
        [ "nu_asan==0", {
          "ldflags": [ "-static-libstdc++", "-static-libgcc", "-Wl,--exclude-libs,ALL" ]
        } ]
      ]
    }
  ]
}

{
  # nu_asan=1 (npm run build:asan) builds with AddressSanitizer and UBSan.
  "variables": { "nu_asan%": 0 },
  "target_defaults": {
    "cflags": [ "-fvisibility=hidden", "-fno-omit-frame-pointer" ],
    "conditions": [
      [ "nu_asan==1", {
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
      "target_name": "nu_llhttp",
      "type": "static_library",
      "include_dirs": [ "/usr/share/include/llhttp" ],
      "cflags": [ "-w" ],
      "sources": [
        "src/llhttp/llhttp_api.c",
        "src/llhttp/llhttp_http.c",
        "src/llhttp/llhttp_llhttp.c"
      ],
      "direct_dependent_settings": {
        "include_dirs": [ "/usr/share/include/llhttp" ]
      }
    },
    {
      "target_name": "node_uring",
      "dependencies": [ "nu_llhttp", "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except" ],
      "sources": [
        "src/addon.cc",
        "src/conn.c",
        "src/date.c",
        "src/file.c",
        "src/grow.c",
        "src/handoff.c",
        "src/http.c",
        "src/listen.c",
        "src/loop.c",
        "src/mime.c",
        "src/mount.c",
        "src/ops.c",
        "src/probe.c",
        "src/queue.c",
        "src/ring.c",
        "src/route.c",
        "src/server.c",
        "src/thread.c",
        "src/timeout.c"
      ],
      "defines": [ "NAPI_VERSION=8", "_GNU_SOURCE", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS" ],
      "cflags": [ "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter" ],
      "cflags_c": [ "-std=gnu11" ],
      "cflags_cc": [ "-std=c++17" ],
      "libraries": [ "-Wl,-Bstatic", "-luring", "-Wl,-Bdynamic" ],
      "ldflags": [ "-Wl,-Bsymbolic" ]
    }
  ]
}

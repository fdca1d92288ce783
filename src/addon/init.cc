// init.cc: the module's exports, put together from the other files, and
// the constants lib/ shares with the C core.
#include "addon.h"
#include "batch.h"
#include "frame.h"
#include "handshake.h"
#include "topics.h"

namespace {

using namespace nu_addon;

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  // A server's batch format (batch.h): record kinds, fields, info bits.
#define NU__EXPORT(name) SetConstant(c, #name, NU_##name);
  NU_BATCH_CONSTANTS(NU__EXPORT)
#undef NU__EXPORT
  // How a server's stop() closes its connections (nu.h).
  SetConstant(c, "STOP_CLOSE", NU_STOP_CLOSE);
  SetConstant(c, "STOP_DRAIN", NU_STOP_DRAIN);
  SetConstant(c, "STOP_FORCE", NU_STOP_FORCE);
  SetConstant(c, "OUT_END", NU_OUT_END);
  SetConstant(c, "OUT_CLOSE", NU_OUT_CLOSE);
  SetConstant(c, "OUT_CHUNKED", NU_OUT_CHUNKED);
  SetConstant(c, "OUT_PAUSE", NU_OUT_PAUSE);
  SetConstant(c, "OUT_RESUME", NU_OUT_RESUME);
  SetConstant(c, "OUT_NOTIFY", NU_OUT_NOTIFY);
  SetConstant(c, "OUT_ABORT", NU_OUT_ABORT);
  SetConstant(c, "OUT_RESET", NU_OUT_RESET);
  SetConstant(c, "OUT_SOCKOPT", NU_OUT_SOCKOPT);
  SetConstant(c, "SOCKOPT_NODELAY_OFF", NU_SOCKOPT_NODELAY_OFF);
  SetConstant(c, "SOCKOPT_NODELAY_ON", NU_SOCKOPT_NODELAY_ON);
  SetConstant(c, "SOCKOPT_KEEPALIVE_OFF", NU_SOCKOPT_KEEPALIVE_OFF);
  SetConstant(c, "SOCKOPT_KEEPALIVE_ON", NU_SOCKOPT_KEEPALIVE_ON);
  SetConstant(c, "SOCKOPT_SHIFT", NU_SOCKOPT_SHIFT);
  SetConstant(c, "OUT_RAW", NU_OUT_RAW);
  SetConstant(c, "OUT_SHUTDOWN", NU_OUT_SHUTDOWN);
  SetConstant(c, "OUT_PARSE", NU_OUT_PARSE);
  SetConstant(c, "OUT_WS_OPEN", NU_OUT_WS_OPEN);
  SetConstant(c, "OUT_WS", NU_OUT_WS);
  // WebSocket opcodes (ws/frame.h), as WS records and wsSend() carry them.
  SetConstant(c, "WS_OP_TEXT", NU_WS_OP_TEXT);
  SetConstant(c, "WS_OP_BINARY", NU_WS_OP_BINARY);
  SetConstant(c, "WS_OP_CLOSE", NU_WS_OP_CLOSE);
  SetConstant(c, "WS_OP_PING", NU_WS_OP_PING);
  SetConstant(c, "WS_OP_PONG", NU_WS_OP_PONG);
  SetConstant(c, "WS_OP_CONT", NU_WS_OP_CONT);
  // Pub/sub (wsTopic(), wsPublish()): what a topic chunk does, the slot
  // of a publish that skips nobody, and the longest topic.
  SetConstant(c, "WS_SUBSCRIBE", NU_WS_SUBSCRIBE);
  SetConstant(c, "WS_UNSUBSCRIBE", NU_WS_UNSUBSCRIBE);
  SetConstant(c, "WS_NOBODY", NU_WS_NOBODY);
  SetConstant(c, "WS_TOPIC_MAX", NU_TOPIC_MAX);
  return c;
}

// wsAccept(key: string) -> the Sec-WebSocket-Accept value for a client's
// Sec-WebSocket-Key (ws/handshake.h), or null for a key too long.
Napi::Value WsAccept(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string key = info[0].As<Napi::String>().Utf8Value();
  char accept[NU_WS_ACCEPT_LEN];

  if (nu_ws_accept(key.data(), key.size(), accept) < 0)
    return env.Null();
  return Napi::String::New(env, accept, sizeof(accept));
}

// The request methods llhttp knows, by number: what REQUEST events carry.
// The numbers have gaps (RTSP's, and QUERY after them): those are holes.
Napi::Array Methods(Napi::Env env) {
  Napi::Array methods = Napi::Array::New(env);
  for (uint32_t i = 0; i <= NU_REQ_METHOD_MASK; i++) {
    if (const char *name = nu_http_method_name(i))
      methods.Set(i, Napi::String::New(env, name));
  }
  return methods;
}

// The ring thread's MIME table, [[extension, type]...] in its order: what
// test/mime.test.js holds lib/static.js's copy to.
Napi::Array MimeTypes(Napi::Env env) {
  Napi::Array types = Napi::Array::New(env);
  const char *ext, *type;

  for (uint32_t i = 0; nu_mime_entry(i, &ext, &type) == 0; i++) {
    Napi::Array entry = Napi::Array::New(env, 2);
    entry.Set(0u, Napi::String::New(env, ext));
    entry.Set(1u, Napi::String::New(env, type));
    types.Set(i, entry);
  }
  return types;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("opcodes", Opcodes(env));
  exports.Set("methods", Methods(env));
  exports.Set("mimeTypes", MimeTypes(env));
  exports.Set("NativeServer", NativeServerClass(env));
  exports.Set("NativeRing", NativeRingClass(env));
  exports.Set("probe", Napi::Function::New<Probe>(env, "probe"));
  exports.Set("listenSocket",
              Napi::Function::New<ListenSocket>(env, "listenSocket"));
  exports.Set("constants", Constants(env));
  exports.Set("wsAccept", Napi::Function::New<WsAccept>(env, "wsAccept"));
  exports.Set("llhttpVersion", Napi::String::New(env, nu_llhttp_version()));
#ifdef NU_TEST_HOOKS
  // A test build (npm run test:asan): its hooks are there (see loop.c).
  exports.Set("testHooks", Napi::Boolean::New(env, true));
#endif
  return exports;
}

} // namespace

NODE_API_MODULE(node_uring, Init)

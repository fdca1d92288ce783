// init.cc: the module's exports, put together from the other files, and
// the constants lib/ shares with the C core.
#include "addon.h"
#include "batch.h"

namespace {

using namespace nu_addon;

// Where each record kind's fields sit in a server's batch (batch.h).
void BatchLayout(Napi::Object c) {
  SetConstant(c, "REC_KIND", NU_REC_KIND);
  SetConstant(c, "REC_SLOT", NU_REC_SLOT);
  SetConstant(c, "REC_GEN", NU_REC_GEN);
  SetConstant(c, "OPEN_FAMILY", NU_OPEN_FAMILY);
  SetConstant(c, "OPEN_PORT", NU_OPEN_PORT);
  SetConstant(c, "OPEN_ADDR_OFF", NU_OPEN_ADDR_OFF);
  SetConstant(c, "OPEN_WORDS", NU_OPEN_WORDS);
  SetConstant(c, "REQUEST_SEQ", NU_REQUEST_SEQ);
  SetConstant(c, "REQUEST_INFO", NU_REQUEST_INFO);
  SetConstant(c, "REQUEST_HEAD_OFF", NU_REQUEST_HEAD_OFF);
  SetConstant(c, "REQUEST_NLENS", NU_REQUEST_NLENS);
  SetConstant(c, "REQUEST_LENS", NU_REQUEST_LENS);
  SetConstant(c, "REQUEST_WORDS", NU_REQUEST_WORDS);
  SetConstant(c, "BODY_OFF", NU_BODY_OFF);
  SetConstant(c, "BODY_LEN", NU_BODY_LEN);
  SetConstant(c, "BODY_WORDS", NU_BODY_WORDS);
  SetConstant(c, "END_WORDS", NU_END_WORDS);
  SetConstant(c, "CLOSE_WORDS", NU_CLOSE_WORDS);
  SetConstant(c, "TIMEOUT_WORDS", NU_TIMEOUT_WORDS);
  SetConstant(c, "STOPPED_WORDS", NU_STOPPED_WORDS);
  SetConstant(c, "DRAIN_SENT_LO", NU_DRAIN_SENT_LO);
  SetConstant(c, "DRAIN_SENT_HI", NU_DRAIN_SENT_HI);
  SetConstant(c, "DRAIN_WORDS", NU_DRAIN_WORDS);
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  SetConstant(c, "EV_OPEN", NU_EV_OPEN);
  SetConstant(c, "EV_REQUEST", NU_EV_REQUEST);
  SetConstant(c, "EV_BODY", NU_EV_BODY);
  SetConstant(c, "EV_END", NU_EV_END);
  SetConstant(c, "EV_CLOSE", NU_EV_CLOSE);
  SetConstant(c, "EV_STOPPED", NU_EV_STOPPED);
  SetConstant(c, "REQ_METHOD_MASK", NU_REQ_METHOD_MASK);
  SetConstant(c, "REQ_MAJOR_SHIFT", NU_REQ_MAJOR_SHIFT);
  SetConstant(c, "REQ_MINOR_SHIFT", NU_REQ_MINOR_SHIFT);
  SetConstant(c, "REQ_KEEP_ALIVE", NU_REQ_KEEP_ALIVE);
  SetConstant(c, "REQ_HAS_BODY", NU_REQ_HAS_BODY);
  SetConstant(c, "REQ_EXPECT_CONTINUE", NU_REQ_EXPECT_CONTINUE);
  SetConstant(c, "OUT_END", NU_OUT_END);
  SetConstant(c, "OUT_CLOSE", NU_OUT_CLOSE);
  SetConstant(c, "OUT_CHUNKED", NU_OUT_CHUNKED);
  SetConstant(c, "OUT_PAUSE", NU_OUT_PAUSE);
  SetConstant(c, "OUT_RESUME", NU_OUT_RESUME);
  SetConstant(c, "OUT_NOTIFY", NU_OUT_NOTIFY);
  SetConstant(c, "OUT_ABORT", NU_OUT_ABORT);
  SetConstant(c, "EV_DRAIN", NU_EV_DRAIN);
  SetConstant(c, "EV_TIMEOUT", NU_EV_TIMEOUT);
  BatchLayout(c);
  return c;
}

// The request methods llhttp knows, by number: what REQUEST events carry.
Napi::Array Methods(Napi::Env env) {
  Napi::Array methods = Napi::Array::New(env);
  for (uint32_t i = 0; const char *name = nu_http_method_name(i); i++)
    methods.Set(i, Napi::String::New(env, name));
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
  exports.Set("llhttpVersion", Napi::String::New(env, nu_llhttp_version()));
  return exports;
}

} // namespace

NODE_API_MODULE(node_uring, Init)

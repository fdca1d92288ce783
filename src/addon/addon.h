// addon/: the node-addon-api glue between lib/ and the C core (nu.h), and
// the project's only C++. It checks arguments, converts values and moves
// batches across threadsafe functions; every decision lives in C or in JS.
//
// This header is what the module's files share: what each contributes to
// the exports (init.cc puts them together) and a few value conversions.
#ifndef NU_ADDON_H
#define NU_ADDON_H

#include <napi.h>

#include "nu.h"

namespace nu_addon {

// server.cc: the class in front of a struct nu_server.
Napi::Function NativeServerClass(Napi::Env env);

// ring.cc: the class in front of a struct nu_queue, and the listening
// socket its accept() takes.
Napi::Function NativeRingClass(Napi::Env env);
Napi::Value ListenSocket(const Napi::CallbackInfo &info);

// probe.cc: which operations the kernel supports, and their numbers.
Napi::Value Probe(const Napi::CallbackInfo &info);
Napi::Object Opcodes(Napi::Env env);

// { errno, syscall }: how a failed start reaches JS, which builds the error.
inline Napi::Value Fail(Napi::Env env, int err, const char *op) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("errno", Napi::Number::New(env, err));
  result.Set("syscall", Napi::String::New(env, op));
  return result;
}

inline uint32_t Uint32Option(Napi::Object o, const char *name) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
}

// A byte count (JS checked it is a safe integer), 0 when missing.
inline uint64_t Uint64Option(Napi::Object o, const char *name) {
  Napi::Value v = o.Get(name);
  return v.IsNumber()
             ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue())
             : 0;
}

inline void SetConstant(Napi::Object o, const char *name, uint32_t value) {
  o.Set(name, Napi::Number::New(o.Env(), value));
}

} // namespace nu_addon

#endif

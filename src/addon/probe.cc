// probe.cc: probe() and the opcodes by name.
#include <vector>

#include "addon.h"

namespace nu_addon {

// probe() -> { ops: [[name, supported]...] } | { errno, syscall }
Napi::Value Probe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  unsigned count = nu_probe_op_count();
  std::vector<unsigned char> supported(count);
  int err = nu_probe(supported.data(), count);
  if (err < 0)
    return Fail(env, err, "io_uring_setup");
  Napi::Array ops = Napi::Array::New(env, count);
  for (unsigned i = 0; i < count; i++) {
    Napi::Array entry = Napi::Array::New(env, 2);
    entry.Set(0u, Napi::String::New(env, nu_probe_op_name(i)));
    entry.Set(1u, Napi::Boolean::New(env, supported[i] != 0));
    ops.Set(i, entry);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("ops", ops);
  return result;
}

// IORING_OP_* by name ("READ": 22): the opcodes liburing knows.
Napi::Object Opcodes(Napi::Env env) {
  Napi::Object ops = Napi::Object::New(env);
  for (unsigned i = 0; i < nu_probe_op_count(); i++)
    SetConstant(ops, nu_probe_op_name(i), i);
  return ops;
}

} // namespace nu_addon

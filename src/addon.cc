// addon.cc: the N-API glue between lib/ and the C core (nu.h). It checks
// arguments, converts values and moves batches across the threadsafe
// function; every decision lives in C or in JS.
#include <napi.h>

#include <cstring>
#include <unistd.h>

#include "nu.h"

namespace {

// Shared by a NativeServer and its threadsafe function, which may outlive
// one another; freed by the threadsafe function's finalizer. At env
// teardown Node runs that finalizer before it drops the batches still
// queued, so CallJs must not touch the context when env is null.
struct ServerContext {
  nu_server *server = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  napi_env env = nullptr;
  class NativeServer *owner = nullptr; // cleared by ~NativeServer
  bool cleanup_hooked = false;
};

class NativeServer : public Napi::ObjectWrap<NativeServer> {
public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "NativeServer",
        {InstanceMethod<&NativeServer::Listen>("listen"),
         InstanceMethod<&NativeServer::Send>("send"),
         InstanceMethod<&NativeServer::Flush>("flush"),
         InstanceMethod<&NativeServer::Stop>("stop"),
         InstanceMethod<&NativeServer::CloseConnections>("closeConnections"),
         InstanceMethod<&NativeServer::Ref>("ref"),
         InstanceMethod<&NativeServer::Unref>("unref")});
  }

  explicit NativeServer(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<NativeServer>(info) {}

  ~NativeServer() override {
    if (ctx_ != nullptr)
      ctx_->owner = nullptr;
  }

  void Detach() { ctx_ = nullptr; }

private:
  ServerContext *ctx_ = nullptr;

  Napi::Value Fail(Napi::Env env, int err, const char *op) {
    Napi::Object result = Napi::Object::New(env);
    result.Set("errno", Napi::Number::New(env, err));
    result.Set("syscall", Napi::String::New(env, op));
    return result;
  }

  nu_server *Running(const Napi::CallbackInfo &info) {
    if (ctx_ == nullptr || ctx_->server == nullptr) {
      Napi::Error::New(info.Env(), "the server is not running")
          .ThrowAsJavaScriptException();
      return nullptr;
    }
    return ctx_->server;
  }

  static uint32_t Uint32Option(Napi::Object o, const char *name) {
    Napi::Value v = o.Get(name);
    return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
  }

  // listen({ host, port, backlog, reusePort, maxHeaderSize, ringEntries,
  //          headersTimeout, requestTimeout, keepAliveTimeout }, onBatch)
  //   -> { port, setupFlags } | { errno, syscall }
  // lib/server.js validates the options; missing numbers read as 0.
  Napi::Value Listen(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (ctx_ != nullptr || info.Length() < 2 || !info[0].IsObject() ||
        !info[1].IsFunction()) {
      Napi::TypeError::New(env, "listen: bad arguments or already listening")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object opts = info[0].As<Napi::Object>();
    Napi::Value host_value = opts.Get("host");
    std::string host =
        host_value.IsString() ? host_value.As<Napi::String>().Utf8Value() : "";
    int fd = -1, port = 0;
    const char *op = "";
    int err = nu_listen(host_value.IsString() ? host.c_str() : nullptr,
                        static_cast<int>(Uint32Option(opts, "port")),
                        static_cast<int>(Uint32Option(opts, "backlog")),
                        opts.Get("reusePort").ToBoolean(), &fd, &port, &op);
    if (err < 0)
      return Fail(env, err, op);

    auto *ctx = new ServerContext();
    ctx->env = env;
    napi_status st = napi_create_threadsafe_function(
        env, info[1], nullptr, Napi::String::New(env, "node-uring"), 0, 1, ctx,
        Finalize, ctx, CallJs, &ctx->tsfn);
    if (st != napi_ok) {
      close(fd);
      delete ctx;
      NAPI_THROW(Napi::Error::New(env, "napi_create_threadsafe_function"),
                 env.Undefined());
    }
    nu_server_config cfg{};
    cfg.listen_fd = fd;
    cfg.max_header_size = Uint32Option(opts, "maxHeaderSize");
    cfg.sq_entries = Uint32Option(opts, "ringEntries");
    cfg.headers_timeout_ms = Uint32Option(opts, "headersTimeout");
    cfg.request_timeout_ms = Uint32Option(opts, "requestTimeout");
    cfg.keep_alive_timeout_ms = Uint32Option(opts, "keepAliveTimeout");
    cfg.deliver = Deliver;
    cfg.exited = Exited;
    cfg.ctx = ctx;
    err = nu_server_start(&cfg, &ctx->server, &op);
    if (err < 0) {
      close(fd);
      ctx->server = nullptr;
      napi_release_threadsafe_function(ctx->tsfn, napi_tsfn_abort);
      return Fail(env, err, op);
    }
    ctx_ = ctx;
    ctx->owner = this;
    napi_add_env_cleanup_hook(env, Cleanup, ctx);
    ctx->cleanup_hooked = true;
    Napi::Object result = Napi::Object::New(env);
    result.Set("port", Napi::Number::New(env, port));
    result.Set("setupFlags",
               Napi::Number::New(env, nu_server_setup_flags(ctx->server)));
    return result;
  }

  // send(slot, gen, seq, flags, head: string|undefined,
  //      body: string|Uint8Array|undefined)
  Napi::Value Send(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_server *server = Running(info);
    if (server == nullptr)
      return env.Undefined();
    napi_value head = info[4], body = info[5];
    size_t head_len = 0, body_len = 0;
    void *body_bytes = nullptr;
    bool head_is_string = info[4].IsString();
    bool body_is_string = info[5].IsString();

    if (head_is_string)
      napi_get_value_string_latin1(env, head, nullptr, 0, &head_len);
    if (body_is_string) {
      napi_get_value_string_utf8(env, body, nullptr, 0, &body_len);
    } else if (info[5].IsTypedArray()) {
      Napi::Uint8Array bytes = info[5].As<Napi::Uint8Array>();
      body_bytes = bytes.Data();
      body_len = bytes.ByteLength();
    }
    if (head_len + body_len > NU_OUT_MAX) {
      Napi::RangeError err = Napi::RangeError::New(
          env, "a response chunk is limited to 4 GiB; write it in parts");
      err.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
      NAPI_THROW(err, env.Undefined());
    }
    nu_out *o = nu_out_new(info[0].As<Napi::Number>().Uint32Value(),
                           info[1].As<Napi::Number>().Uint32Value(),
                           info[2].As<Napi::Number>().Uint32Value(),
                           info[3].As<Napi::Number>().Uint32Value(), head_len,
                           body_len);
    if (o == nullptr) {
      NAPI_THROW(Napi::Error::New(env, "out of memory for a response"),
                 env.Undefined());
    }
    if (head_is_string)
      napi_get_value_string_latin1(env, head, o->data, head_len + 1, nullptr);
    if (body_is_string)
      napi_get_value_string_utf8(env, body, o->data + o->body_off, body_len + 1,
                                 nullptr);
    else if (body_len > 0)
      memcpy(o->data + o->body_off, body_bytes, body_len);
    nu_out_seal(o);
    nu_server_send(server, o);
    return env.Undefined();
  }

  Napi::Value Flush(const Napi::CallbackInfo &info) {
    if (nu_server *server = Running(info))
      nu_server_flush(server);
    return info.Env().Undefined();
  }

  // stop(force): see nu_server_stop().
  Napi::Value Stop(const Napi::CallbackInfo &info) {
    if (nu_server *server = Running(info))
      nu_server_stop(server, info[0].ToBoolean());
    return info.Env().Undefined();
  }

  Napi::Value CloseConnections(const Napi::CallbackInfo &info) {
    if (nu_server *server = Running(info))
      nu_server_close_connections(server);
    return info.Env().Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo &info) {
    if (ctx_ != nullptr && ctx_->tsfn != nullptr)
      napi_ref_threadsafe_function(info.Env(), ctx_->tsfn);
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo &info) {
    if (ctx_ != nullptr && ctx_->tsfn != nullptr)
      napi_unref_threadsafe_function(info.Env(), ctx_->tsfn);
    return info.Env().Undefined();
  }

  // Ring thread: one call per batch, never blocking.
  static void Deliver(void *arg, nu_batch *b) {
    auto *ctx = static_cast<ServerContext *>(arg);
    if (napi_call_threadsafe_function(ctx->tsfn, b, napi_tsfn_nonblocking) !=
        napi_ok)
      nu_server_batch_done(ctx->server, b); // the env is going away
  }

  // Ring thread, last call: lets the finalizer run once batches are in.
  static void Exited(void *arg) {
    auto *ctx = static_cast<ServerContext *>(arg);
    napi_release_threadsafe_function(ctx->tsfn, napi_tsfn_release);
  }

  // JS thread: copies the batch into one ArrayBuffer (index words first,
  // then bytes), gives the batch back, and calls onBatch(buffer, nwords).
  static void CallJs(napi_env env, napi_value cb, void *arg, void *data) {
    auto *ctx = static_cast<ServerContext *>(arg);
    auto *b = static_cast<nu_batch *>(data);
    if (env == nullptr || cb == nullptr) {
      nu_batch_free(b); // ctx and its server may be freed already
      return;
    }
    size_t word_bytes = static_cast<size_t>(b->nwords) * sizeof(uint32_t);
    void *dst = nullptr;
    napi_value argv[2], undefined;
    napi_status st =
        napi_create_arraybuffer(env, word_bytes + b->nbytes, &dst, &argv[0]);
    uint32_t nwords = b->nwords;
    if (st == napi_ok) {
      memcpy(dst, b->words, word_bytes);
      if (b->nbytes)
        memcpy(static_cast<char *>(dst) + word_bytes, b->bytes, b->nbytes);
    }
    nu_server_batch_done(ctx->server, b);
    if (st != napi_ok)
      return;
    napi_create_uint32(env, nwords, &argv[1]);
    napi_get_undefined(env, &undefined);
    if (napi_call_function(env, undefined, cb, 2, argv, nullptr) ==
        napi_pending_exception) {
      // Node 20 would only warn about an exception escaping a threadsafe
      // function call; make it an uncaught exception, as it should be.
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }

  // JS thread, once the ring thread released the function (or the env is
  // going away): joins the thread and frees the core.
  static void Finalize(napi_env env, void *data, void *) {
    auto *ctx = static_cast<ServerContext *>(data);
    if (ctx->server != nullptr) {
      nu_server_stop(ctx->server, 1); // a no-op unless the env is going away
      nu_server_join(ctx->server);
      nu_server_destroy(ctx->server);
    }
    if (ctx->cleanup_hooked)
      napi_remove_env_cleanup_hook(env, Cleanup, ctx);
    if (ctx->owner != nullptr)
      ctx->owner->Detach();
    delete ctx;
  }

  // The env is being torn down (worker exit) with the server running: stop
  // the ring thread at once and wait for it, so no thread outlives the env.
  static void Cleanup(void *arg) {
    auto *ctx = static_cast<ServerContext *>(arg);
    ctx->cleanup_hooked = false;
    nu_server_stop(ctx->server, 1);
    nu_server_join(ctx->server);
  }
};

void SetConstant(Napi::Object o, const char *name, uint32_t value) {
  o.Set(name, Napi::Number::New(o.Env(), value));
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
  SetConstant(c, "REQ_UPGRADE", NU_REQ_UPGRADE);
  SetConstant(c, "OUT_END", NU_OUT_END);
  SetConstant(c, "OUT_CLOSE", NU_OUT_CLOSE);
  SetConstant(c, "OUT_CHUNKED", NU_OUT_CHUNKED);
  SetConstant(c, "OUT_PAUSE", NU_OUT_PAUSE);
  SetConstant(c, "OUT_RESUME", NU_OUT_RESUME);
  return c;
}

// The request methods llhttp knows, by number: what REQUEST events carry.
Napi::Array Methods(Napi::Env env) {
  Napi::Array methods = Napi::Array::New(env);
  for (uint32_t i = 0; const char *name = nu_http_method_name(i); i++)
    methods.Set(i, Napi::String::New(env, name));
  return methods;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("methods", Methods(env));
  exports.Set("NativeServer", NativeServer::Init(env));
  exports.Set("constants", Constants(env));
  exports.Set("llhttpVersion", Napi::String::New(env, nu_llhttp_version()));
  return exports;
}

} // namespace

NODE_API_MODULE(node_uring, Init)

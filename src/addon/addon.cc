// addon.cc: the N-API glue between lib/ and the C core (nu.h). It checks
// arguments, converts values and moves batches across the threadsafe
// function; every decision lives in C or in JS.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <liburing.h>
#include <unistd.h>

#include "nu.h"

namespace {

// What Context needs to know of the C object behind a threadsafe function:
// how to stop, join, free it and give a batch back, and how a batch
// becomes onBatch's arguments.
struct ServerCore {
  using Type = nu_server;
  static void Stop(nu_server *s) { nu_server_stop(s, 1); }
  static void Join(nu_server *s) { nu_server_join(s); }
  static void Destroy(nu_server *s) { nu_server_destroy(s); }
  static void Done(nu_server *s, nu_batch *b) { nu_server_batch_done(s, b); }
  static napi_status ToJs(napi_env env, nu_batch *b, napi_value argv[2]);
};

struct QueueCore {
  using Type = nu_queue;
  static void Stop(nu_queue *q) { nu_queue_stop(q); }
  static void Join(nu_queue *q) { nu_queue_join(q); }
  static void Destroy(nu_queue *q) { nu_queue_destroy(q); }
  static void Done(nu_queue *q, nu_batch *b) { nu_queue_batch_done(q, b); }
  static napi_status ToJs(napi_env env, nu_batch *b, napi_value argv[2]);
};

// The JS object in front of a Context, told when the context goes away.
class Detachable {
public:
  virtual void Detach() = 0;

protected:
  ~Detachable() = default;
};

// Shared by a native object and its threadsafe function, which may outlive
// one another; freed by the threadsafe function's finalizer. At env
// teardown Node runs that finalizer before it drops the batches still
// queued, so CallJs must not touch the context when env is null.
template <typename Core> struct Context {
  using T = typename Core::Type;
  T *core = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  Detachable *owner = nullptr;
  bool cleanup_hooked = false;

  // A context whose function calls onBatch; nullptr (with a pending JS
  // exception) on failure.
  static Context *New(napi_env env, napi_value on_batch, const char *name) {
    auto *ctx = new Context();
    napi_value resource;
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
    if (napi_create_threadsafe_function(env, on_batch, nullptr, resource, 0, 1,
                                        ctx, Finalize, ctx, CallJs,
                                        &ctx->tsfn) != napi_ok) {
      delete ctx;
      napi_throw_error(env, nullptr, "napi_create_threadsafe_function");
      return nullptr;
    }
    return ctx;
  }

  // Once the core runs: the owner is told when the context goes, and a
  // worker's exit stops the core first.
  void Attach(napi_env env, T *c, Detachable *o) {
    core = c;
    owner = o;
    napi_add_env_cleanup_hook(env, Cleanup, this);
    cleanup_hooked = true;
  }

  // The core did not start: the function goes, and the context with it.
  void Abandon() { napi_release_threadsafe_function(tsfn, napi_tsfn_abort); }

  // Ring thread: one call per batch, never blocking.
  static void Deliver(void *arg, nu_batch *b) {
    auto *ctx = static_cast<Context *>(arg);
    if (napi_call_threadsafe_function(ctx->tsfn, b, napi_tsfn_nonblocking) !=
        napi_ok)
      Core::Done(ctx->core, b); // the env is going away
  }

  // Ring thread, last call: lets the finalizer run once batches are in.
  static void Exited(void *arg) {
    napi_release_threadsafe_function(static_cast<Context *>(arg)->tsfn,
                                     napi_tsfn_release);
  }

  // JS thread: turns the batch into onBatch's arguments, gives it back,
  // and calls onBatch.
  static void CallJs(napi_env env, napi_value cb, void *arg, void *data) {
    auto *ctx = static_cast<Context *>(arg);
    auto *b = static_cast<nu_batch *>(data);
    if (env == nullptr || cb == nullptr) {
      nu_batch_free(b); // ctx and its core may be freed already
      return;
    }
    napi_value argv[2], undefined;
    napi_status st = Core::ToJs(env, b, argv);
    Core::Done(ctx->core, b);
    if (st != napi_ok)
      return;
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
    auto *ctx = static_cast<Context *>(data);
    if (ctx->core != nullptr) {
      Core::Stop(ctx->core); // a no-op unless the env is going away
      Core::Join(ctx->core);
      Core::Destroy(ctx->core);
    }
    if (ctx->cleanup_hooked)
      napi_remove_env_cleanup_hook(env, Cleanup, ctx);
    if (ctx->owner != nullptr)
      ctx->owner->Detach();
    delete ctx;
  }

  // The env is being torn down (worker exit) with the core running: stop
  // the ring thread at once and wait for it, so no thread outlives the env.
  static void Cleanup(void *arg) {
    auto *ctx = static_cast<Context *>(arg);
    ctx->cleanup_hooked = false;
    Core::Stop(ctx->core);
    Core::Join(ctx->core);
  }
};

// A server's batch: one ArrayBuffer, index words first, then bytes, and
// the number of words.
napi_status ServerCore::ToJs(napi_env env, nu_batch *b, napi_value argv[2]) {
  size_t word_bytes = static_cast<size_t>(b->nwords) * sizeof(uint32_t);
  void *dst = nullptr;
  napi_status st =
      napi_create_arraybuffer(env, word_bytes + b->nbytes, &dst, &argv[0]);
  if (st != napi_ok)
    return st;
  memcpy(dst, b->words, word_bytes);
  if (b->nbytes)
    memcpy(static_cast<char *>(dst) + word_bytes, b->bytes, b->nbytes);
  return napi_create_uint32(env, b->nwords, &argv[1]);
}

// A queue's batch: an ArrayBuffer of (id, res) int32 pairs, and their
// number, in completion order.
napi_status QueueCore::ToJs(napi_env env, nu_batch *b, napi_value argv[2]) {
  uint32_t n = 0;
  for (nu_op *op = b->ops; op; op = op->next)
    n++;
  bool last = b->last != 0;
  if (last)
    n++; // (0, 0): the ring thread answered everything and is exiting
  int32_t *pairs = nullptr;
  napi_status st =
      napi_create_arraybuffer(env, n * 2 * sizeof(int32_t),
                              reinterpret_cast<void **>(&pairs), &argv[0]);
  if (st != napi_ok)
    return st;
  for (nu_op *op = b->ops; op; op = op->next) {
    *pairs++ = static_cast<int32_t>(op->id);
    *pairs++ = op->res;
  }
  if (last)
    pairs[0] = pairs[1] = 0;
  return napi_create_uint32(env, n, &argv[1]);
}

using ServerContext = Context<ServerCore>;
using QueueContext = Context<QueueCore>;

// { errno, syscall }: how a failed start reaches JS, which builds the error.
Napi::Value Fail(Napi::Env env, int err, const char *op) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("errno", Napi::Number::New(env, err));
  result.Set("syscall", Napi::String::New(env, op));
  return result;
}

uint32_t Uint32Option(Napi::Object o, const char *name) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
}

// What the JS objects in front of a Context share: the context, which
// clears the pointer when it goes, and ref()/unref() of its function.
template <typename Derived, typename Core>
class ContextOwner : public Napi::ObjectWrap<Derived>, public Detachable {
public:
  explicit ContextOwner(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<Derived>(info) {}

  ~ContextOwner() override {
    if (ctx_ != nullptr)
      ctx_->owner = nullptr;
  }

  void Detach() override { ctx_ = nullptr; }

protected:
  Context<Core> *ctx_ = nullptr;

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
};

// A string's latin1 bytes: heads are built by JS in latin1.
static std::string Latin1(Napi::Value v) {
  size_t len = 0;
  napi_get_value_string_latin1(v.Env(), v, nullptr, 0, &len);
  std::string s(len, '\0');
  napi_get_value_string_latin1(v.Env(), v, s.data(), len + 1, &len);
  return s;
}

// listen()'s routes ([{ path, keepHead, closeHead, body }], checked by
// lib/route.js) as nu_route_specs, with the bytes they point into; the
// core copies them before listen() returns.
struct RouteSpecs {
  std::deque<std::string> strings; // a deque: growing moves none of them
  std::vector<nu_route_spec> specs;

  explicit RouteSpecs(Napi::Value value) {
    if (!value.IsArray())
      return;
    Napi::Array list = value.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object r = list.Get(i).As<Napi::Object>();
      const std::string &path = Keep(r.Get("path"));
      const std::string &keep = Keep(r.Get("keepHead"));
      const std::string &close = Keep(r.Get("closeHead"));
      Napi::Buffer<char> body = r.Get("body").As<Napi::Buffer<char>>();
      specs.push_back({path.data(), path.size(), keep.data(), keep.size(),
                       close.data(), close.size(), body.Data(), body.Length()});
    }
  }

  // A head as its latin1 bytes, or a path, kept until the core copied it.
  const std::string &Keep(Napi::Value v) {
    strings.push_back(Latin1(v));
    return strings.back();
  }
};

// listen()'s statics ([{ prefix, root }], checked by lib/static.js) as
// nu_mount_specs; the core copies them before listen() returns.
struct MountSpecs {
  std::deque<std::string> strings;
  std::vector<nu_mount_spec> specs;

  explicit MountSpecs(Napi::Value value) {
    if (!value.IsArray())
      return;
    Napi::Array list = value.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object m = list.Get(i).As<Napi::Object>();
      strings.push_back(m.Get("prefix").As<Napi::String>().Utf8Value());
      const std::string &prefix = strings.back();
      strings.push_back(m.Get("root").As<Napi::String>().Utf8Value());
      specs.push_back({prefix.data(), prefix.size(), strings.back().c_str()});
    }
  }
};

class NativeServer : public ContextOwner<NativeServer, ServerCore> {
public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "NativeServer",
        {InstanceMethod<&NativeServer::Listen>("listen"),
         InstanceMethod<&NativeServer::Send>("send"),
         InstanceMethod<&NativeServer::Flush>("flush"),
         InstanceMethod<&NativeServer::Stop>("stop"),
         InstanceMethod<&NativeServer::CloseConnections>("closeConnections"),
         InstanceMethod("ref", &NativeServer::Ref),
         InstanceMethod("unref", &NativeServer::Unref),
         InstanceMethod<&NativeServer::LiveConnections>("liveConnections")});
  }

  explicit NativeServer(const Napi::CallbackInfo &info) : ContextOwner(info) {}

private:
  nu_server *Running(const Napi::CallbackInfo &info) {
    if (ctx_ == nullptr || ctx_->core == nullptr) {
      Napi::Error::New(info.Env(), "the server is not running")
          .ThrowAsJavaScriptException();
      return nullptr;
    }
    return ctx_->core;
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

    auto *ctx = ServerContext::New(env, info[1], "node-uring server");
    if (ctx == nullptr) {
      close(fd);
      return env.Undefined();
    }
    nu_server_config cfg{};
    cfg.listen_fd = fd;
    cfg.max_header_size = Uint32Option(opts, "maxHeaderSize");
    Napi::Value max_body = opts.Get("maxRequestBodySize");
    cfg.max_body_size =
        max_body.IsNumber()
            ? static_cast<uint64_t>(max_body.As<Napi::Number>().DoubleValue())
            : 0;
    cfg.sq_entries = Uint32Option(opts, "ringEntries");
    cfg.headers_timeout_ms = Uint32Option(opts, "headersTimeout");
    cfg.request_timeout_ms = Uint32Option(opts, "requestTimeout");
    cfg.keep_alive_timeout_ms = Uint32Option(opts, "keepAliveTimeout");
    cfg.socket_timeout_ms = Uint32Option(opts, "timeout");
    RouteSpecs routes(opts.Get("routes"));
    cfg.routes = routes.specs.data();
    cfg.nroutes = static_cast<uint32_t>(routes.specs.size());
    MountSpecs mounts(opts.Get("statics"));
    cfg.mounts = mounts.specs.data();
    cfg.nmounts = static_cast<uint32_t>(mounts.specs.size());
    std::string keep_alive_lines = Latin1(opts.Get("keepAliveLines"));
    cfg.keep_alive_lines = keep_alive_lines.data();
    cfg.keep_alive_lines_len = keep_alive_lines.size();
    cfg.deliver = ServerContext::Deliver;
    cfg.exited = ServerContext::Exited;
    cfg.ctx = ctx;
    nu_server *server = nullptr;
    err = nu_server_start(&cfg, &server, &op);
    if (err < 0) {
      close(fd);
      ctx->Abandon();
      return Fail(env, err, op);
    }
    ctx->Attach(env, server, this);
    ctx_ = ctx;
    Napi::Object result = Napi::Object::New(env);
    result.Set("port", Napi::Number::New(env, port));
    result.Set("setupFlags",
               Napi::Number::New(env, nu_server_setup_flags(server)));
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

  // liveConnections(): what the ring thread holds open (tests, stats).
  Napi::Value LiveConnections(const Napi::CallbackInfo &info) {
    nu_server *server = Running(info);
    if (server == nullptr)
      return info.Env().Undefined();
    return Napi::Number::New(info.Env(), nu_server_live_connections(server));
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
};

// The Ring API's queue. Every op method stages one operation and returns
// its handle (the op's address, which a cancel names); JS calls submit()
// once per tick. lib/ring.js validates arguments; the checks here are the
// ones memory safety depends on.
class NativeRing : public ContextOwner<NativeRing, QueueCore> {
public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeRing",
                       {InstanceMethod<&NativeRing::Open>("open"),
                        InstanceMethod<&NativeRing::Rw>("rw"),
                        InstanceMethod<&NativeRing::Rwv>("rwv"),
                        InstanceMethod<&NativeRing::Path>("path"),
                        InstanceMethod<&NativeRing::FdOp>("fdop"),
                        InstanceMethod<&NativeRing::Socket>("socket"),
                        InstanceMethod<&NativeRing::Connect>("connect"),
                        InstanceMethod<&NativeRing::Timeout>("timeout"),
                        InstanceMethod<&NativeRing::Cancel>("cancel"),
                        InstanceMethod<&NativeRing::Link>("link"),
                        InstanceMethod<&NativeRing::Submit>("submit"),
                        InstanceMethod<&NativeRing::Close>("close"),
                        InstanceMethod<&NativeRing::Join>("join"),
                        InstanceMethod("ref", &NativeRing::Ref),
                        InstanceMethod("unref", &NativeRing::Unref)});
  }

  explicit NativeRing(const Napi::CallbackInfo &info) : ContextOwner(info) {}

private:
  bool closed_ = false;

  nu_queue *Running(Napi::Env env) {
    if (ctx_ == nullptr || ctx_->core == nullptr || closed_) {
      Napi::Error::New(env, "the ring is closed").ThrowAsJavaScriptException();
      return nullptr;
    }
    return ctx_->core;
  }

  static uint32_t U32(const Napi::Value &v) {
    return v.As<Napi::Number>().Uint32Value();
  }

  static int32_t I32(const Napi::Value &v) {
    return v.As<Napi::Number>().Int32Value();
  }

  // A file position: a number >= 0, or -1 (or anything negative) for the
  // file's current position.
  static uint64_t Position(const Napi::Value &v) {
    double d = v.As<Napi::Number>().DoubleValue();
    return d < 0 ? static_cast<uint64_t>(-1) : static_cast<uint64_t>(d);
  }

  // An op owned here until it is staged, so that an exception on the way
  // frees it.
  using OpPtr = std::unique_ptr<nu_op, void (*)(nu_op *)>;
  static OpPtr Own(nu_op *op) { return OpPtr(op, nu_op_free); }

  // Stages op and returns its handle; throws when allocation failed.
  Napi::Value Stage(Napi::Env env, nu_queue *q, OpPtr op) {
    if (op == nullptr) {
      NAPI_THROW(Napi::Error::New(env, "out of memory for an operation"),
                 env.Undefined());
    }
    nu_op *staged = op.release();
    nu_queue_stage(q, staged);
    return Napi::Number::New(
        env, static_cast<double>(reinterpret_cast<uintptr_t>(staged)));
  }

  // The bytes [offset, offset + length) of a TypedArray or DataView (over an
  // ArrayBuffer or a SharedArrayBuffer), or nullptr (with a JS exception)
  // when they are not all inside it.
  static uint8_t *Span(const Napi::Value &view, const Napi::Value &offset,
                       const Napi::Value &length, uint32_t *len) {
    Napi::Env env = view.Env();
    void *base = nullptr;
    size_t size = 0;
    if (view.IsTypedArray()) {
      napi_typedarray_type type;
      size_t count;
      napi_get_typedarray_info(env, view, &type, &count, &base, nullptr,
                               nullptr);
      size = view.As<Napi::TypedArray>().ByteLength();
    } else if (view.IsDataView()) {
      napi_get_dataview_info(env, view, &size, &base, nullptr, nullptr);
    } else {
      Napi::TypeError::New(env, "expected a Buffer, TypedArray or DataView")
          .ThrowAsJavaScriptException();
      return nullptr;
    }
    double off = offset.As<Napi::Number>().DoubleValue();
    double n = length.As<Napi::Number>().DoubleValue();
    if (!(off >= 0 && n >= 0 && off + n <= static_cast<double>(size) &&
          n <= UINT32_MAX)) {
      Napi::RangeError::New(env, "offset and length fall outside the buffer")
          .ThrowAsJavaScriptException();
      return nullptr;
    }
    *len = static_cast<uint32_t>(n);
    // An empty view may have no memory at all; any non-null address does.
    return base ? static_cast<uint8_t *>(base) + static_cast<size_t>(off)
                : &empty_;
  }
  static inline uint8_t empty_ = 0;

  // open({ entries, cqEntries, sqpoll, sqThreadIdle }, onBatch)
  //   -> { setupFlags } | { errno, syscall }
  Napi::Value Open(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (ctx_ != nullptr || closed_ || !info[0].IsObject() ||
        !info[1].IsFunction()) {
      NAPI_THROW(Napi::TypeError::New(env, "open: bad arguments"),
                 env.Undefined());
    }
    Napi::Object opts = info[0].As<Napi::Object>();
    auto *ctx = QueueContext::New(env, info[1], "node-uring ring");
    if (ctx == nullptr)
      return env.Undefined();
    nu_queue_config cfg{};
    cfg.sq_entries = Uint32Option(opts, "entries");
    cfg.cq_entries = Uint32Option(opts, "cqEntries");
    Napi::Value sqpoll = opts.Get("sqpoll");
    cfg.sqpoll = sqpoll.IsBoolean() && sqpoll.As<Napi::Boolean>().Value();
    cfg.sq_thread_idle = Uint32Option(opts, "sqThreadIdle");
    cfg.deliver = QueueContext::Deliver;
    cfg.exited = QueueContext::Exited;
    cfg.ctx = ctx;
    nu_queue *q = nullptr;
    const char *op = "";
    int err = nu_queue_start(&cfg, &q, &op);
    if (err < 0) {
      ctx->Abandon();
      return Fail(env, err, op);
    }
    ctx->Attach(env, q, this);
    ctx_ = ctx;
    Napi::Object result = Napi::Object::New(env);
    result.Set("setupFlags", Napi::Number::New(env, nu_queue_setup_flags(q)));
    return result;
  }

  // rw(opcode, id, fd, view, offset, length, positionOrFlags): READ and
  // WRITE take a file position, RECV and SEND msg flags.
  Napi::Value Rw(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    uint32_t opcode = U32(info[0]), len = 0;
    if (q == nullptr)
      return env.Undefined();
    if (opcode != IORING_OP_READ && opcode != IORING_OP_WRITE &&
        opcode != IORING_OP_RECV && opcode != IORING_OP_SEND)
      NAPI_THROW(Napi::TypeError::New(env, "rw: bad opcode"), env.Undefined());
    uint8_t *p = Span(info[3], info[4], info[5], &len);
    if (p == nullptr)
      return env.Undefined();
    bool file = opcode == IORING_OP_READ || opcode == IORING_OP_WRITE;
    uint32_t id = U32(info[1]), flags = file ? 0 : U32(info[6]);
    int32_t fd = I32(info[2]);
    uint64_t off = file ? Position(info[6]) : 0;
    OpPtr op = Own(nu_op_new(static_cast<uint8_t>(opcode), id));
    if (op != nullptr) {
      op->fd = fd;
      op->addr = reinterpret_cast<uintptr_t>(p);
      op->len = len;
      op->off = off;
      op->flags = flags;
    }
    return Stage(env, q, std::move(op));
  }

  // rwv(opcode, id, fd, views, position): READV and WRITEV over whole views.
  Napi::Value Rwv(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    uint32_t opcode = U32(info[0]);
    if (q == nullptr)
      return env.Undefined();
    if ((opcode != IORING_OP_READV && opcode != IORING_OP_WRITEV) ||
        !info[3].IsArray())
      NAPI_THROW(Napi::TypeError::New(env, "rwv: bad arguments"),
                 env.Undefined());
    Napi::Array views = info[3].As<Napi::Array>();
    uint32_t id = U32(info[1]);
    int32_t fd = I32(info[2]);
    uint64_t off = Position(info[4]);
    OpPtr op =
        Own(nu_op_new_iov(static_cast<uint8_t>(opcode), id, views.Length()));
    if (op == nullptr)
      return Stage(env, q, std::move(op));
    iovec *iov = nu_op_iov(op.get());
    for (uint32_t i = 0; i < views.Length(); i++) {
      Napi::Value view = views.Get(i);
      uint32_t len = 0;
      Napi::Value whole = Napi::Number::New(
          env, view.IsTypedArray() ? view.As<Napi::TypedArray>().ByteLength()
               : view.IsDataView() ? view.As<Napi::DataView>().ByteLength()
                                   : 0);
      uint8_t *p = Span(view, Napi::Number::New(env, 0), whole, &len);
      if (p == nullptr)
        return env.Undefined();
      iov[i].iov_base = p;
      iov[i].iov_len = len;
    }
    op->fd = fd;
    op->off = off;
    return Stage(env, q, std::move(op));
  }

  // path(opcode, id, path, flags, mode, statxView): OPENAT and STATX.
  Napi::Value Path(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    uint32_t opcode = U32(info[0]), len = 0;
    if (q == nullptr)
      return env.Undefined();
    if ((opcode != IORING_OP_OPENAT && opcode != IORING_OP_STATX) ||
        !info[2].IsString())
      NAPI_THROW(Napi::TypeError::New(env, "path: bad arguments"),
                 env.Undefined());
    uint8_t *out = nullptr;
    if (opcode == IORING_OP_STATX) {
      out = Span(info[5], Napi::Number::New(env, 0),
                 Napi::Number::New(env, 256), &len);
      if (out == nullptr)
        return env.Undefined();
    }
    std::string path = info[2].As<Napi::String>().Utf8Value();
    if (path.find('\0') != std::string::npos) {
      Napi::TypeError err = Napi::TypeError::New(
          env, "the path must be a string without null bytes");
      err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_VALUE"));
      NAPI_THROW(err, env.Undefined());
    }
    uint32_t id = U32(info[1]), flags = U32(info[3]), mode = U32(info[4]);
    OpPtr op = Own(nu_op_new_path(static_cast<uint8_t>(opcode), id, path.data(),
                                  path.size()));
    if (op != nullptr) {
      op->flags = flags;
      op->mode = mode;
      op->addr = reinterpret_cast<uintptr_t>(out);
    }
    return Stage(env, q, std::move(op));
  }

  // fdop(opcode, id, fd, flags): NOP, CLOSE, FSYNC and ACCEPT.
  Napi::Value FdOp(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    uint32_t opcode = U32(info[0]);
    if (q == nullptr)
      return env.Undefined();
    if (opcode != IORING_OP_NOP && opcode != IORING_OP_CLOSE &&
        opcode != IORING_OP_FSYNC && opcode != IORING_OP_ACCEPT)
      NAPI_THROW(Napi::TypeError::New(env, "fdop: bad opcode"),
                 env.Undefined());
    uint32_t id = U32(info[1]), flags = U32(info[3]);
    int32_t fd = I32(info[2]);
    OpPtr op = Own(nu_op_new(static_cast<uint8_t>(opcode), id));
    if (op != nullptr) {
      op->fd = fd;
      op->flags = flags;
    }
    return Stage(env, q, std::move(op));
  }

  // socket(id, domain, type, protocol)
  Napi::Value Socket(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    if (q == nullptr)
      return env.Undefined();
    uint32_t id = U32(info[0]), type = U32(info[2]), protocol = U32(info[3]);
    int32_t domain = I32(info[1]);
    OpPtr op = Own(nu_op_new(IORING_OP_SOCKET, id));
    if (op != nullptr) {
      op->fd = domain;
      op->flags = type;
      op->mode = protocol;
    }
    return Stage(env, q, std::move(op));
  }

  // connect(id, fd, address, port): address is a numeric IP.
  Napi::Value Connect(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    if (q == nullptr)
      return env.Undefined();
    std::string address = info[2].As<Napi::String>().Utf8Value();
    uint32_t id = U32(info[0]);
    int32_t fd = I32(info[1]), port = I32(info[3]);
    nu_op *op = nullptr;
    if (nu_op_new_connect(id, fd, address.c_str(), port, &op) == -EINVAL)
      NAPI_THROW(Napi::TypeError::New(env, "connect: not an IP address"),
                 env.Undefined());
    return Stage(env, q, Own(op));
  }

  // timeout(id, ms)
  Napi::Value Timeout(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    if (q == nullptr)
      return env.Undefined();
    double ms = info[1].As<Napi::Number>().DoubleValue();
    uint32_t id = U32(info[0]);
    OpPtr op = Own(nu_op_new(IORING_OP_TIMEOUT, id));
    if (op != nullptr) {
      op->ts.tv_sec = static_cast<int64_t>(ms / 1000);
      op->ts.tv_nsec = static_cast<long long>(
          (ms - static_cast<double>(op->ts.tv_sec) * 1000) * 1e6);
    }
    return Stage(env, q, std::move(op));
  }

  // cancel(id, handle): cancels the op staged under handle, if still there.
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    if (q == nullptr)
      return env.Undefined();
    uint32_t id = U32(info[0]);
    auto target =
        static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    OpPtr op = Own(nu_op_new(IORING_OP_ASYNC_CANCEL, id));
    if (op != nullptr)
      op->addr = target;
    return Stage(env, q, std::move(op));
  }

  // link(on): a closed ring ignores it, so that link()'s finally block
  // can end a chain whose function closed the ring.
  Napi::Value Link(const Napi::CallbackInfo &info) {
    if (ctx_ != nullptr && ctx_->core != nullptr && !closed_)
      nu_queue_link(ctx_->core,
                    info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value());
    return info.Env().Undefined();
  }

  Napi::Value Submit(const Napi::CallbackInfo &info) {
    if (nu_queue *q = Running(info.Env()))
      nu_queue_submit(q);
    return info.Env().Undefined();
  }

  // close(): what is staged goes first, then everything is cancelled; the
  // last batch answers every op, and the function is released after it.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (nu_queue *q = Running(info.Env())) {
      nu_queue_submit(q);
      nu_queue_stop(q);
      closed_ = true;
    }
    return info.Env().Undefined();
  }

  // join(): once the last batch is in, waits the moment the ring thread
  // needs to return, so that close() leaves no thread behind.
  Napi::Value Join(const Napi::CallbackInfo &info) {
    if (closed_ && ctx_ != nullptr && ctx_->core != nullptr)
      nu_queue_join(ctx_->core);
    return info.Env().Undefined();
  }
};

// listenSocket(host | undefined, port, backlog) -> { fd, port } | { errno,
// syscall }: a listening TCP socket for the Ring API's accept().
Napi::Value ListenSocket(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string host =
      info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  int fd = -1, port = 0;
  const char *op = "";
  int err =
      nu_listen(info[0].IsString() ? host.c_str() : nullptr,
                info[1].As<Napi::Number>().Int32Value(),
                info[2].As<Napi::Number>().Int32Value(), 0, &fd, &port, &op);
  if (err < 0)
    return Fail(env, err, op);
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("port", Napi::Number::New(env, port));
  return result;
}

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
  SetConstant(c, "OUT_NOTIFY", NU_OUT_NOTIFY);
  SetConstant(c, "OUT_ABORT", NU_OUT_ABORT);
  SetConstant(c, "EV_DRAIN", NU_EV_DRAIN);
  SetConstant(c, "EV_TIMEOUT", NU_EV_TIMEOUT);
  SetConstant(c, "SETUP_SQPOLL", IORING_SETUP_SQPOLL);
  SetConstant(c, "SETUP_COOP_TASKRUN", IORING_SETUP_COOP_TASKRUN);
  SetConstant(c, "SETUP_SINGLE_ISSUER", IORING_SETUP_SINGLE_ISSUER);
  SetConstant(c, "SETUP_DEFER_TASKRUN", IORING_SETUP_DEFER_TASKRUN);
  return c;
}

// The request methods llhttp knows, by number: what REQUEST events carry.
Napi::Array Methods(Napi::Env env) {
  Napi::Array methods = Napi::Array::New(env);
  for (uint32_t i = 0; const char *name = nu_http_method_name(i); i++)
    methods.Set(i, Napi::String::New(env, name));
  return methods;
}

// IORING_OP_* by name ("READ": 22): the opcodes liburing knows.
Napi::Object Opcodes(Napi::Env env) {
  Napi::Object ops = Napi::Object::New(env);
  for (unsigned i = 0; i < nu_probe_op_count(); i++)
    SetConstant(ops, nu_probe_op_name(i), i);
  return ops;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("opcodes", Opcodes(env));
  exports.Set("methods", Methods(env));
  exports.Set("NativeServer", NativeServer::Init(env));
  exports.Set("NativeRing", NativeRing::Init(env));
  exports.Set("probe", Napi::Function::New<Probe>(env, "probe"));
  exports.Set("listenSocket",
              Napi::Function::New<ListenSocket>(env, "listenSocket"));
  exports.Set("constants", Constants(env));
  exports.Set("llhttpVersion", Napi::String::New(env, nu_llhttp_version()));
  return exports;
}

} // namespace

NODE_API_MODULE(node_uring, Init)

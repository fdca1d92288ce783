// ring.cc: NativeRing, the JS object in front of a struct nu_queue (the
// Ring API; lib/ring.js drives it), and listenSocket() for its accept().
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <liburing.h>

#include "addon.h"
#include "context.h"

namespace nu_addon {
namespace {

// A queue as a Context's core (see context.h).
struct QueueCore {
  using Type = nu_queue;
  static void Stop(nu_queue *q) { nu_queue_stop(q); }
  static void Join(nu_queue *q) { nu_queue_join(q); }
  static void Destroy(nu_queue *q) { nu_queue_destroy(q); }
  static void Done(nu_queue *q, nu_batch *b) { nu_queue_batch_done(q, b); }
  static napi_status ToJs(napi_env env, nu_batch *b, napi_value argv[2]);
};

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

using QueueContext = Context<QueueCore>;

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

  // An opcode as the constructors take it; one past 255 is one no
  // constructor knows either.
  static uint8_t Opcode(const Napi::Value &v) {
    uint32_t op = U32(v);
    return op > UINT8_MAX ? UINT8_MAX : static_cast<uint8_t>(op);
  }

  // What every op method shares: the ring must be open; make(env, &op)
  // reads the arguments, checks what memory safety needs (throwing, or
  // returning with a JS exception pending, before any op exists), and
  // returns what the nu_op_new_*() it calls last returns. -EINVAL from it
  // throws a TypeError that says invalid; else the op is staged and its
  // handle returned.
  template <typename Make>
  Napi::Value StageOp(const Napi::CallbackInfo &info, const char *invalid,
                      Make make) {
    Napi::Env env = info.Env();
    nu_queue *q = Running(env);
    if (q == nullptr)
      return env.Undefined();
    nu_op *op = nullptr;
    int err = make(env, &op);
    if (env.IsExceptionPending())
      return env.Undefined();
    if (err == -EINVAL) {
      Napi::TypeError e = Napi::TypeError::New(env, invalid);
      e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_VALUE"));
      NAPI_THROW(e, env.Undefined());
    }
    if (err < 0) {
      NAPI_THROW(Napi::Error::New(env, "out of memory for an operation"),
                 env.Undefined());
    }
    nu_queue_stage(q, op);
    return Napi::Number::New(
        env, static_cast<double>(reinterpret_cast<uintptr_t>(op)));
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

  // Every view of views, whole, as iovecs; false (with a JS exception)
  // when one is not a TypedArray or DataView.
  static bool Spans(Napi::Array views, std::vector<iovec> *iov) {
    Napi::Env env = views.Env();
    iov->resize(views.Length());
    for (uint32_t i = 0; i < views.Length(); i++) {
      Napi::Value view = views.Get(i);
      uint32_t len = 0;
      Napi::Value whole = Napi::Number::New(
          env, view.IsTypedArray() ? view.As<Napi::TypedArray>().ByteLength()
               : view.IsDataView() ? view.As<Napi::DataView>().ByteLength()
                                   : 0);
      uint8_t *p = Span(view, Napi::Number::New(env, 0), whole, &len);
      if (p == nullptr)
        return false;
      (*iov)[i] = {p, len};
    }
    return true;
  }

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
    return StageOp(info, "rw: the opcode is not READ, WRITE, RECV or SEND",
                   [&info](Napi::Env, nu_op **op) {
                     uint32_t len = 0;
                     uint8_t *p = Span(info[3], info[4], info[5], &len);
                     if (p == nullptr)
                       return 0;
                     return nu_op_new_rw(Opcode(info[0]), U32(info[1]),
                                         I32(info[2]), p, len,
                                         Position(info[6]), U32(info[6]), op);
                   });
  }

  // rwv(opcode, id, fd, views, position): READV and WRITEV over whole views.
  Napi::Value Rwv(const Napi::CallbackInfo &info) {
    return StageOp(
        info, "rwv: the opcode is not READV or WRITEV",
        [&info](Napi::Env env, nu_op **op) {
          if (!info[3].IsArray())
            NAPI_THROW(Napi::TypeError::New(env, "rwv: views is not an array"),
                       0);
          std::vector<iovec> iov;
          if (!Spans(info[3].As<Napi::Array>(), &iov))
            return 0;
          int err = nu_op_new_rwv(Opcode(info[0]), U32(info[1]), I32(info[2]),
                                  static_cast<uint32_t>(iov.size()),
                                  Position(info[4]), op);
          if (err == 0 && !iov.empty())
            memcpy(nu_op_iov(*op), iov.data(), iov.size() * sizeof(iovec));
          return err;
        });
  }

  // path(opcode, id, path, flags, mode, statxView): OPENAT and STATX.
  Napi::Value Path(const Napi::CallbackInfo &info) {
    return StageOp(
        info, "path: the opcode is not OPENAT or STATX",
        [&info](Napi::Env env, nu_op **op) {
          uint8_t opcode = Opcode(info[0]);
          uint8_t *out = nullptr;
          uint32_t len = 0;
          if (!info[2].IsString())
            NAPI_THROW(
                Napi::TypeError::New(env, "path: the path is not a string"), 0);
          if (opcode == IORING_OP_STATX) {
            out = Span(info[5], Napi::Number::New(env, 0),
                       Napi::Number::New(env, 256), &len);
            if (out == nullptr)
              return 0;
          }
          std::string path = info[2].As<Napi::String>().Utf8Value();
          if (path.find('\0') != std::string::npos) {
            Napi::TypeError err = Napi::TypeError::New(
                env, "the path must be a string without null bytes");
            err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_VALUE"));
            NAPI_THROW(err, 0);
          }
          return nu_op_new_path(opcode, U32(info[1]), path.data(), path.size(),
                                U32(info[3]), U32(info[4]), out, op);
        });
  }

  // fdop(opcode, id, fd, flags): NOP, CLOSE, FSYNC and ACCEPT.
  Napi::Value FdOp(const Napi::CallbackInfo &info) {
    return StageOp(info, "fdop: the opcode is not NOP, CLOSE, FSYNC or ACCEPT",
                   [&info](Napi::Env, nu_op **op) {
                     return nu_op_new_fd(Opcode(info[0]), U32(info[1]),
                                         I32(info[2]), U32(info[3]), op);
                   });
  }

  // socket(id, domain, type, protocol)
  Napi::Value Socket(const Napi::CallbackInfo &info) {
    return StageOp(info, "socket: bad arguments",
                   [&info](Napi::Env, nu_op **op) {
                     return nu_op_new_socket(U32(info[0]), I32(info[1]),
                                             U32(info[2]), U32(info[3]), op);
                   });
  }

  // connect(id, fd, address, port): address is a numeric IP.
  Napi::Value Connect(const Napi::CallbackInfo &info) {
    return StageOp(
        info, "connect: not an IP address", [&info](Napi::Env, nu_op **op) {
          std::string address = info[2].As<Napi::String>().Utf8Value();
          return nu_op_new_connect(U32(info[0]), I32(info[1]), address.c_str(),
                                   I32(info[3]), op);
        });
  }

  // timeout(id, ms)
  Napi::Value Timeout(const Napi::CallbackInfo &info) {
    return StageOp(info, "timeout: ms is not a number >= 0",
                   [&info](Napi::Env, nu_op **op) {
                     return nu_op_new_timeout(
                         U32(info[0]), info[1].As<Napi::Number>().DoubleValue(),
                         op);
                   });
  }

  // cancel(id, handle): cancels the op staged under handle, if still there.
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    return StageOp(
        info, "cancel: bad arguments", [&info](Napi::Env, nu_op **op) {
          auto target =
              static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
          return nu_op_new_cancel(U32(info[0]), target, op);
        });
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

} // namespace

Napi::Function NativeRingClass(Napi::Env env) { return NativeRing::Init(env); }

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

} // namespace nu_addon

// server.cc: NativeServer, the JS object in front of a struct nu_server
// (lib/server.js drives it): listen(), send() of response chunks, stop().
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include <unistd.h>

#include "addon.h"
#include "context.h"
#include "frame.h"
#include "topics.h"

namespace nu_addon {
namespace {

// A server as a Context's core (see context.h).
struct ServerCore {
  using Type = nu_server;
  static void Stop(nu_server *s) { nu_server_stop(s, NU_STOP_FORCE); }
  static void Join(nu_server *s) { nu_server_join(s); }
  static void Destroy(nu_server *s) { nu_server_destroy(s); }
  static void Done(nu_server *s, nu_batch *b) { nu_server_batch_done(s, b); }
  static int Fd(nu_server *s) { return nu_server_fd(s); }
  static void Turn(nu_server *s) { nu_server_turn(s); }
  static napi_status ToJs(napi_env env, nu_batch *b, napi_value argv[2]);
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

using ServerContext = Context<ServerCore>;

// A string's latin1 bytes: heads are built by JS in latin1.
std::string Latin1(Napi::Value v) {
  size_t len = 0;
  napi_get_value_string_latin1(v.Env(), v, nullptr, 0, &len);
  std::string s(len, '\0');
  napi_get_value_string_latin1(v.Env(), v, s.data(), len + 1, &len);
  return s;
}

// Calls each(element) for every element of value, an array of objects
// that lib/ checked; nothing when value is not an array (none given).
template <typename Each> void ForEachObject(Napi::Value value, Each each) {
  if (!value.IsArray())
    return;
  Napi::Array list = value.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++)
    each(list.Get(i).As<Napi::Object>());
}

// listen()'s routes ([{ path, head, body }], checked by
// lib/route.js) as nu_route_specs, with the bytes they point into; the
// core copies them before listen() returns.
struct RouteSpecs {
  std::deque<std::string> strings; // a deque: growing moves none of them
  std::vector<nu_route_spec> specs;

  explicit RouteSpecs(Napi::Value value) {
    ForEachObject(value, [this](Napi::Object r) {
      const std::string &path = Keep(r.Get("path"));
      const std::string &head = Keep(r.Get("head"));
      Napi::Buffer<char> body = r.Get("body").As<Napi::Buffer<char>>();
      specs.push_back({path.data(), path.size(), head.data(), head.size(),
                       body.Data(), body.Length()});
    });
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
    ForEachObject(value, [this](Napi::Object m) {
      strings.push_back(m.Get("prefix").As<Napi::String>().Utf8Value());
      const std::string &prefix = strings.back();
      strings.push_back(m.Get("root").As<Napi::String>().Utf8Value());
      specs.push_back({prefix.data(), prefix.size(), strings.back().c_str()});
    });
  }
};

// A chunk's body as JS gives it: a string, sent as UTF-8; bytes (a typed
// array); or nothing (undefined). utf8_len, when JS measured the string
// already (it does, for Content-Length), spares measuring it again, and
// tells an ASCII string (as many bytes as UTF-16 units), whose UTF-8 is
// its latin1: copied as that, without V8's UTF-8 encoder.
struct Payload {
  napi_value value = nullptr;
  bool is_string = false;
  bool is_ascii = false;
  const void *bytes = nullptr;
  size_t len = 0;

  explicit Payload(Napi::Value v, Napi::Value utf8_len = Napi::Value())
      : value(v) {
    if (v.IsString()) {
      is_string = true;
      if (!utf8_len.IsEmpty() && utf8_len.IsNumber()) {
        size_t units = 0;
        len = utf8_len.As<Napi::Number>().Int64Value();
        napi_get_value_string_latin1(v.Env(), v, nullptr, 0, &units);
        is_ascii = units == len;
        if (is_ascii)
          return;
      }
      napi_get_value_string_utf8(v.Env(), v, nullptr, 0, &len);
    } else if (v.IsTypedArray()) {
      Napi::Uint8Array a = v.As<Napi::Uint8Array>();
      bytes = a.Data();
      len = a.ByteLength();
    }
  }

  // Copies it to dst, which has room for len + 1 bytes (a string's NUL).
  void CopyTo(napi_env env, char *dst) const {
    if (is_ascii)
      napi_get_value_string_latin1(env, value, dst, len + 1, nullptr);
    else if (is_string)
      napi_get_value_string_utf8(env, value, dst, len + 1, nullptr);
    else if (len > 0)
      memcpy(dst, bytes, len);
  }
};

// A RangeError for a chunk past NU_OUT_MAX; returns undefined.
Napi::Value TooLarge(Napi::Env env, const char *what) {
  Napi::RangeError err = Napi::RangeError::New(env, what);
  err.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  NAPI_THROW(err, env.Undefined());
}

// A number argument; one not given reads as 0.
uint32_t Uint32Arg(Napi::Value v) {
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
}

// A topic's UTF-8 bytes, into topic (NU_TOPIC_MAX + 1 bytes). Throws a
// RangeError and returns false past NU_TOPIC_MAX.
bool TopicArg(Napi::Value v, char *topic, size_t *len) {
  napi_get_value_string_utf8(v.Env(), v, nullptr, 0, len);
  if (*len > NU_TOPIC_MAX) {
    TooLarge(v.Env(), "a topic is limited to 1024 bytes");
    return false;
  }
  napi_get_value_string_utf8(v.Env(), v, topic, NU_TOPIC_MAX + 1, len);
  return true;
}

Napi::Value OutOfMemory(Napi::Env env) {
  NAPI_THROW(Napi::Error::New(env, "out of memory for a response"),
             env.Undefined());
}

class NativeServer : public ContextOwner<NativeServer, ServerCore> {
public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "NativeServer",
        {InstanceMethod<&NativeServer::Listen>("listen"),
         InstanceMethod<&NativeServer::Send>("send"),
         InstanceMethod<&NativeServer::WsOpen>("wsOpen"),
         InstanceMethod<&NativeServer::WsSend>("wsSend"),
         InstanceMethod<&NativeServer::WsTopic>("wsTopic"),
         InstanceMethod<&NativeServer::WsPublish>("wsPublish"),
         InstanceMethod<&NativeServer::Flush>("flush"),
         InstanceMethod<&NativeServer::Stop>("stop"),
         InstanceMethod<&NativeServer::Join>("join"),
         InstanceMethod<&NativeServer::CloseConnections>("closeConnections"),
         InstanceMethod<&NativeServer::CloseIdleConnections>(
             "closeIdleConnections"),
         InstanceMethod<&NativeServer::SetClientErrors>("setClientErrors"),
         InstanceMethod<&NativeServer::SetTimeouts>("setTimeouts"),
         InstanceMethod("ref", &NativeServer::Ref),
         InstanceMethod("unref", &NativeServer::Unref),
         InstanceMethod<&NativeServer::LiveConnections>("liveConnections"),
         InstanceMethod<&NativeServer::Stats>("stats")});
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

  // listen({ host, port | path, backlog, reusePort, maxHeaderSize, ringEntries,
  //          headersTimeout, requestTimeout, keepAliveTimeout,
  //          maxQueuedRequests, maxQueuedBytes, maxPausedConnections },
  //        onBatch)
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
    Napi::Value path_value = opts.Get("path");
    std::string host =
        host_value.IsString() ? host_value.As<Napi::String>().Utf8Value() : "";
    int fd = -1, port = 0;
    const char *op = "";
    int backlog = static_cast<int>(Uint32Option(opts, "backlog"));
    int err =
        path_value.IsString()
            ? nu_listen_unix(path_value.As<Napi::String>().Utf8Value().c_str(),
                             backlog, &fd, &op)
            : nu_listen(host_value.IsString() ? host.c_str() : nullptr,
                        static_cast<int>(Uint32Option(opts, "port")), backlog,
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
    cfg.max_body_size = Uint64Option(opts, "maxRequestBodySize");
    cfg.host_optional = opts.Get("requireHostHeader").StrictEquals(
        Napi::Boolean::New(env, false));
    cfg.sq_entries = Uint32Option(opts, "ringEntries");
    cfg.headers_timeout_ms = Uint32Option(opts, "headersTimeout");
    cfg.request_timeout_ms = Uint32Option(opts, "requestTimeout");
    cfg.keep_alive_timeout_ms = Uint32Option(opts, "keepAliveTimeout");
    cfg.socket_timeout_ms = Uint32Option(opts, "timeout");
    cfg.max_queued_requests = Uint32Option(opts, "maxQueuedRequests");
    cfg.max_queued_bytes = Uint64Option(opts, "maxQueuedBytes");
    cfg.max_held_connections = Uint32Option(opts, "maxPausedConnections");
    RouteSpecs routes(opts.Get("routes"));
    cfg.routes = routes.specs.data();
    cfg.nroutes = static_cast<uint32_t>(routes.specs.size());
    MountSpecs mounts(opts.Get("statics"));
    cfg.mounts = mounts.specs.data();
    cfg.nmounts = static_cast<uint32_t>(mounts.specs.size());
    cfg.inline_mode = opts.Get("inline").ToBoolean();
    cfg.deliver = cfg.inline_mode ? ServerContext::DeliverInline
                                  : ServerContext::Deliver;
    cfg.exited =
        cfg.inline_mode ? ServerContext::ExitedInline : ServerContext::Exited;
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
    if (cfg.inline_mode && (err = ctx->StartInline(env, info[1])) < 0) {
      // Stopped and ended here, as at env teardown; the context goes with
      // its function.
      ctx->tearing = true;
      nu_server_stop(server, NU_STOP_FORCE);
      nu_server_join(server);
      return Fail(env, err, "uv_poll_start");
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("port", Napi::Number::New(env, port));
    result.Set("setupFlags",
               Napi::Number::New(env, nu_server_setup_flags(server)));
    return result;
  }

  // send(slot, gen, seq, flags, head: string|undefined,
  //      body: string|Uint8Array|undefined, bodyBytes?: number,
  //      lent?: number)
  // With lent, bytes (a typed array) are not copied: the ring thread sends
  // from them and reports lent back in a RELEASED record (batch.h), until
  // which lib/uring_backend.js holds body. Returns true when body was lent.
  Napi::Value Send(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_server *server = Running(info);
    if (server == nullptr)
      return env.Undefined();
    napi_value head = info[4];
    size_t head_len = 0;
    bool head_is_string = info[4].IsString();
    Payload body(info[5], info[6]);

    if (head_is_string)
      napi_get_value_string_latin1(env, head, nullptr, 0, &head_len);
    if (head_len + body.len > NU_OUT_MAX)
      return TooLarge(env,
                      "a response chunk is limited to 4 GiB; write it in parts");
    uint32_t slot = info[0].As<Napi::Number>().Uint32Value();
    uint32_t gen = info[1].As<Napi::Number>().Uint32Value();
    uint32_t seq = info[2].As<Napi::Number>().Uint32Value();
    uint32_t flags = info[3].As<Napi::Number>().Uint32Value();
    bool lend = info.Length() > 7 && body.bytes != nullptr;
    nu_out *o =
        lend ? nu_server_out_lend(server, slot, gen, seq, flags, head_len,
                                  body.bytes, body.len,
                                  info[7].As<Napi::Number>().Uint32Value())
             : nu_server_out_new(server, slot, gen, seq, flags, head_len,
                                 body.len);
    if (o == nullptr)
      return OutOfMemory(env);
    if (head_is_string)
      napi_get_value_string_latin1(env, head, o->data, head_len + 1, nullptr);
    if (!lend)
      body.CopyTo(env, o->data + o->body_off);
    nu_out_seal(o);
    nu_server_send(server, o);
    return lend ? Napi::Boolean::New(env, true) : env.Undefined();
  }

  // wsOpen(slot, gen, head: string, maxPayload: number,
  //        given: Uint8Array|undefined, maxBackpressure: number,
  //        idleTimeout: number (s), flags: 1 closeOnBackpressureLimit |
  //        2 sendPingsAutomatically): the upgrade held (or raw) on the
  // connection is a WebSocket: head (the 101 response, latin1) goes out,
  // then the ring thread parses frames, given (bytes JS read in raw mode)
  // first. See NU_OUT_WS_OPEN and struct nu_ws_options.
  Napi::Value WsOpen(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_server *server = Running(info);
    if (server == nullptr)
      return env.Undefined();
    std::string head = Latin1(info[2]);
    Payload given(info[4]);
    if (given.len > NU_OUT_MAX - head.size())
      return TooLarge(env, "too many bytes received before the handshake");
    nu_out *o = nu_server_out_new(
        server, info[0].As<Napi::Number>().Uint32Value(),
        info[1].As<Napi::Number>().Uint32Value(), 0, NU_OUT_WS_OPEN,
        head.size(), given.len);
    if (o == nullptr)
      return OutOfMemory(env);
    memcpy(o->data, head.data(), head.size());
    given.CopyTo(env, o->data + o->body_off);
    uint32_t flags = Uint32Arg(info[7]);
    o->ws.max_message =
        static_cast<uint64_t>(info[3].As<Napi::Number>().DoubleValue());
    o->ws.max_backpressure = Uint32Arg(info[5]);
    o->ws.idle_s = static_cast<uint16_t>(Uint32Arg(info[6]));
    o->ws.close_on_limit = (flags & 1) != 0;
    o->ws.send_pings = (flags & 2) != 0;
    nu_server_send(server, o);
    return env.Undefined();
  }

  // wsSend(slot, gen, opcode, fin: boolean, data: string|Uint8Array|
  //        undefined): one frame, its header written here (frame.h) and
  // the payload copied after it. A close frame (opcode 8) is the
  // connection's last.
  Napi::Value WsSend(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_server *server = Running(info);
    if (server == nullptr)
      return env.Undefined();
    uint32_t opcode = info[2].As<Napi::Number>().Uint32Value();
    Payload data(info[4]);
    if (data.len > NU_OUT_MAX - NU_WS_HEADER_MAX)
      return TooLarge(env, "a WebSocket message is limited to 4 GiB");
    size_t hlen = nu_ws_header_len(data.len);
    uint32_t flags = NU_OUT_WS | (opcode == NU_WS_OP_CLOSE ? NU_OUT_WS_CLOSE : 0);
    nu_out *o = nu_server_out_new(
        server, info[0].As<Napi::Number>().Uint32Value(),
        info[1].As<Napi::Number>().Uint32Value(), 0, flags, hlen, data.len);
    if (o == nullptr)
      return OutOfMemory(env);
    nu_ws_frame_header(reinterpret_cast<uint8_t *>(o->data), opcode,
                       info[3].ToBoolean(), data.len);
    data.CopyTo(env, o->data + o->body_off);
    nu_server_send(server, o);
    return env.Undefined();
  }

  // The running server, with argument at as a topic in topic (see
  // TopicArg()); nullptr, having thrown, when either is wanting.
  nu_server *RunningWithTopic(const Napi::CallbackInfo &info, size_t at,
                              char *topic, size_t *len) {
    nu_server *server = Running(info);
    return server != nullptr && TopicArg(info[at], topic, len) ? server
                                                               : nullptr;
  }

  // wsTopic(slot, gen, action, topic: string): the connection subscribes
  // to the topic (UTF-8, at most NU_TOPIC_MAX bytes, which lib/websocket.js
  // checks) or unsubscribes from it; see NU_OUT_WS_TOPIC.
  Napi::Value WsTopic(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    char topic[NU_TOPIC_MAX + 1];
    size_t len = 0;
    nu_server *server = RunningWithTopic(info, 3, topic, &len);
    if (server == nullptr)
      return env.Undefined();
    nu_out *o = nu_server_topic_new(
        server, Uint32Arg(info[0]), Uint32Arg(info[1]),
        static_cast<nu_ws_topic_action>(Uint32Arg(info[2])), topic, len,
        nullptr);
    if (o == nullptr)
      return OutOfMemory(env);
    nu_server_send(server, o);
    return env.Undefined();
  }

  // wsPublish(topic: string, data: string|Uint8Array, opcode, slot, gen,
  //           others: NativeServer[]): one message to the topic's
  // subscribers on this ring, but connection (slot, gen) (NU_WS_NOBODY:
  // none), and on each ring of others, skipping nobody. The frame is
  // built once, here, and shared by every chunk (struct nu_frame).
  Napi::Value WsPublish(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    char topic[NU_TOPIC_MAX + 1];
    size_t topic_len = 0;
    nu_server *server = RunningWithTopic(info, 0, topic, &topic_len);
    if (server == nullptr)
      return env.Undefined();
    Payload data(info[1]);
    if (data.len > NU_OUT_MAX - NU_WS_HEADER_MAX)
      return TooLarge(env, "a WebSocket message is limited to 4 GiB");
    size_t hlen = nu_ws_header_len(data.len);
    nu_frame *frame = nu_frame_new(hlen + data.len);
    if (frame == nullptr)
      return OutOfMemory(env);
    char *bytes = nu_frame_data(frame);
    nu_ws_frame_header(reinterpret_cast<uint8_t *>(bytes), Uint32Arg(info[2]),
                       1, data.len);
    data.CopyTo(env, bytes + hlen);
    bool ok = nu_server_publish(server, Uint32Arg(info[3]), Uint32Arg(info[4]),
                                topic, topic_len, frame) == 0;
    Napi::Array others =
        info[5].IsArray() ? info[5].As<Napi::Array>() : Napi::Array::New(env);
    for (uint32_t i = 0; ok && i < others.Length(); i++) {
      NativeServer *peer = Unwrap(others.Get(i).As<Napi::Object>());
      if (peer->ctx_ != nullptr && peer->ctx_->core != nullptr)
        ok = nu_server_publish(peer->ctx_->core, NU_WS_NOBODY, 0, topic,
                               topic_len, frame) == 0;
    }
    nu_frame_unref(frame);
    return ok ? env.Undefined() : OutOfMemory(env);
  }

  // liveConnections(): what the ring thread holds open (tests, stats).
  Napi::Value LiveConnections(const Napi::CallbackInfo &info) {
    nu_server *server = Running(info);
    if (server == nullptr)
      return info.Env().Undefined();
    return Napi::Number::New(info.Env(), nu_server_live_connections(server));
  }

  // stats(): where the ring stands against its load bounds (see
  // nu_server_stats()), in server.stats()'s names.
  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    nu_server *server = Running(info);
    if (server == nullptr)
      return env.Undefined();
    struct nu_server_stats st {};
    nu_server_stats(server, &st);
    Napi::Object o = Napi::Object::New(env);
    o.Set("connections", Napi::Number::New(env, st.connections));
    o.Set("requestsQueued", Napi::Number::New(env, st.requests_queued));
    o.Set("bytesQueued",
          Napi::Number::New(env, static_cast<double>(st.bytes_queued)));
    o.Set("bytesUnsent",
          Napi::Number::New(env, static_cast<double>(st.bytes_unsent)));
    o.Set("connectionsPaused", Napi::Number::New(env, st.connections_held));
    o.Set("overloaded", Napi::Boolean::New(env, st.overloaded != 0));
    o.Set("accepting", Napi::Boolean::New(env, st.accepting != 0));
    return o;
  }

  Napi::Value Flush(const Napi::CallbackInfo &info) {
    if (nu_server *server = Running(info))
      nu_server_flush(server);
    return info.Env().Undefined();
  }

  // stop(how): constants.STOP_CLOSE, _DRAIN or _FORCE; see
  // nu_server_stop().
  Napi::Value Stop(const Napi::CallbackInfo &info) {
    uint32_t how = info[0].ToNumber().Uint32Value();
    if (how < NU_STOP_CLOSE || how > NU_STOP_FORCE) {
      Napi::RangeError::New(info.Env(), "stop(): not a stop")
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    if (nu_server *server = Running(info))
      nu_server_stop(server, static_cast<nu_stop>(how));
    return info.Env().Undefined();
  }

  // Waits for the ring thread to end, once its STOPPED record is in: it
  // has nothing left to do but release the threadsafe function, so this
  // is short. 'close' follows it (lib/uring_backend.js). A no-op when the
  // finalizer joined it already.
  Napi::Value Join(const Napi::CallbackInfo &info) {
    if (ctx_ != nullptr && ctx_->core != nullptr)
      nu_server_join(ctx_->core);
    return info.Env().Undefined();
  }

  Napi::Value CloseConnections(const Napi::CallbackInfo &info) {
    if (nu_server *server = Running(info))
      nu_server_close_connections(server);
    return info.Env().Undefined();
  }

  // closeIdleConnections([slot, gen]): see
  // nu_server_close_idle_connections(); (slot, gen) is the connection
  // spared.
  Napi::Value CloseIdleConnections(const Napi::CallbackInfo &info) {
    bool spare = info.Length() >= 2 && info[0].IsNumber();
    uint32_t slot = spare ? info[0].ToNumber().Uint32Value() : 0;
    uint32_t gen = spare ? info[1].ToNumber().Uint32Value() : 0;
    if (nu_server *server = Running(info))
      nu_server_close_idle_connections(server, spare, slot, gen);
    return info.Env().Undefined();
  }

  // setClientErrors(toJs): see nu_server_set_client_errors().
  Napi::Value SetClientErrors(const Napi::CallbackInfo &info) {
    if (nu_server *server = Running(info))
      nu_server_set_client_errors(server, info[0].ToBoolean());
    return info.Env().Undefined();
  }

  // setTimeouts({ headersTimeout, requestTimeout, keepAliveTimeout,
  // timeout }), ms that JS checked: see nu_server_set_timeouts().
  Napi::Value SetTimeouts(const Napi::CallbackInfo &info) {
    nu_server *server = Running(info);
    if (server != nullptr && info[0].IsObject()) {
      Napi::Object t = info[0].As<Napi::Object>();
      nu_server_set_timeouts(server, Uint32Option(t, "headersTimeout"),
                             Uint32Option(t, "requestTimeout"),
                             Uint32Option(t, "keepAliveTimeout"),
                             Uint32Option(t, "timeout"));
    }
    return info.Env().Undefined();
  }
};

} // namespace

Napi::Function NativeServerClass(Napi::Env env) {
  return NativeServer::Init(env);
}

} // namespace nu_addon

// context.h: what a native object shares with its ring thread. A Context
// holds the C core (a server or a queue) and the threadsafe function that
// carries its batches to JS; a ContextOwner is the JS object in front of
// it. Either may outlive the other; the threadsafe function's finalizer
// frees the context (see node-addon-api's ThreadSafeFunction docs).
#ifndef NU_ADDON_CONTEXT_H
#define NU_ADDON_CONTEXT_H

#include <napi.h>
#include <uv.h>

#include <atomic>

#include "nu.h"

namespace nu_addon {

// A Context's Core parameter says what it needs to know of the C object
// behind a threadsafe function: its Type, how to Stop, Join, Destroy it and
// give a batch back (Done), and how a batch becomes onBatch's arguments
// (ToJs). See ServerCore in server.cc and QueueCore in ring.cc.

// The JS object in front of a Context, told when the context goes away.
class Detachable {
public:
  virtual void Detach() = 0;

protected:
  ~Detachable() = default;
};

// Shared by a native object and its threadsafe function, which may outlive
// one another; freed by the threadsafe function's finalizer. At env
// teardown Node runs that finalizer before it drops the calls still
// queued, so CallJs must not touch the context when env is null.
//
// Node drains the nextTick and microtask queues after each function call.
// node:http hands JS in one read what reached a socket while JS was busy,
// so a peer's writes of one moment are seen with no tick between them
// (socket.io drops an event that a disconnect right behind it cancels),
// and each socket's read is a call of its own. So a batch whose records
// are all one connection's, delivered right behind a batch of that same
// connection only, joins that batch's call (`joins`); any other batch has
// a call of its own. Batches wait on `pending` (newest first), then on the
// JS thread's `carry` (oldest first) until their call.
//
// Inline (a core with no ring thread, driven from the JS thread: see
// nu_server_turn()), the threadsafe function is kept for the context's
// lifetime only, unreferenced and never called: a libuv poll of the core's
// fd runs its turns, and each batch is handed to onBatch from inside the
// turn, through napi_make_callback (the nextTick and microtask queues are
// drained after each, as after a threadsafe function's call). The poll is
// closed on the core's exit, and its close releases the function.
template <typename Core> struct Context {
  using T = typename Core::Type;
  T *core = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  std::atomic<nu_batch *> pending{nullptr};
  uint64_t last_conn = 0;             // ring thread: the last batch's conn
  nu_batch *carry = nullptr;          // JS thread
  nu_batch *carry_last = nullptr;
  Detachable *owner = nullptr;
  bool cleanup_hooked = false;

  // Inline only. The poll is allocated apart: its close may complete after
  // the context is gone (env teardown), and then finds ctx null.
  struct Poll {
    uv_poll_t handle;
    Context *ctx;
  };
  bool is_inline = false;
  napi_env env = nullptr;
  napi_ref on_batch = nullptr;
  napi_async_context async = nullptr;
  Poll *poll = nullptr;
  bool tearing = false; // env teardown: batches go back unread

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

  // Inline, once the core runs: polls its fd, and keeps onBatch. Returns 0,
  // or a negative errno when the poll cannot be had; the caller stops the
  // core then.
  int StartInline(napi_env e, napi_value cb) {
    is_inline = true;
    env = e;
    napi_unref_threadsafe_function(env, tsfn);
    napi_value resource, name;
    napi_create_object(env, &resource);
    napi_create_string_utf8(env, "node-uring server", NAPI_AUTO_LENGTH, &name);
    uv_loop_t *loop = nullptr;
    if (napi_create_reference(env, cb, 1, &on_batch) != napi_ok ||
        napi_async_init(env, resource, name, &async) != napi_ok ||
        napi_get_uv_event_loop(env, &loop) != napi_ok)
      return -ENOMEM;
    auto *p = new Poll{{}, this};
    int err = uv_poll_init(loop, &p->handle, Core::Fd(core));
    if (err != 0) {
      delete p; // not a handle of the loop yet
      return err;
    }
    poll = p;
    err = uv_poll_start(&p->handle, UV_READABLE, OnPoll);
    if (err != 0)
      DropPoll();
    return err;
  }

  static void OnPoll(uv_poll_t *handle, int, int) {
    Context *ctx = reinterpret_cast<Poll *>(handle)->ctx;
    if (ctx != nullptr && ctx->core != nullptr)
      Core::Turn(ctx->core);
  }

  // Inline: the turn's batch, to onBatch now (see CallOne).
  static void DeliverInline(void *arg, nu_batch *b) {
    auto *ctx = static_cast<Context *>(arg);
    if (ctx->tearing) {
      Core::Done(ctx->core, b);
      return;
    }
    napi_env env = ctx->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value cb, argv[2], recv;
    napi_status st = Core::ToJs(env, b, argv);
    Core::Done(ctx->core, b);
    napi_get_reference_value(env, ctx->on_batch, &cb);
    napi_get_global(env, &recv);
    if (st == napi_ok &&
        napi_make_callback(env, ctx->async, recv, cb, 2, argv, nullptr) ==
            napi_pending_exception)
      RethrowUncaught(env);
    napi_close_handle_scope(env, scope);
  }

  // Inline, the core's last call: the poll closes, then the function goes.
  static void ExitedInline(void *arg) {
    auto *ctx = static_cast<Context *>(arg);
    if (ctx->poll == nullptr)
      Exited(arg);
    else if (!uv_is_closing(reinterpret_cast<uv_handle_t *>(ctx->poll)))
      uv_close(reinterpret_cast<uv_handle_t *>(ctx->poll), OnPollClosed);
  }

  static void OnPollClosed(uv_handle_t *handle) {
    auto *poll = reinterpret_cast<Poll *>(handle);
    if (poll->ctx != nullptr) {
      poll->ctx->poll = nullptr;
      Exited(poll->ctx);
    }
    delete poll;
  }

  // Inline, the context going first (env teardown): the poll's close no
  // longer reaches it.
  void DropPoll() {
    if (poll == nullptr)
      return;
    poll->ctx = nullptr;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t *>(poll)))
      uv_close(reinterpret_cast<uv_handle_t *>(poll), OnPollClosed);
    poll = nullptr;
  }

  // What holds the event loop open: the poll inline, else the function.
  void Ref(napi_env e, bool ref) {
    if (is_inline) {
      if (poll != nullptr)
        ref ? uv_ref(reinterpret_cast<uv_handle_t *>(poll))
            : uv_unref(reinterpret_cast<uv_handle_t *>(poll));
    } else if (tsfn != nullptr)
      ref ? napi_ref_threadsafe_function(e, tsfn)
          : napi_unref_threadsafe_function(e, tsfn);
  }

  // The core did not start: the function goes, and the context with it.
  void Abandon() { napi_release_threadsafe_function(tsfn, napi_tsfn_abort); }

  // Ring thread: queues the batch, and makes a call for it unless it joins
  // the call of the batch before it, still queued. Never blocks.
  static void Deliver(void *arg, nu_batch *b) {
    auto *ctx = static_cast<Context *>(arg);
    nu_batch *head = ctx->pending.load(std::memory_order_relaxed);
    do {
      // head, when not taken yet, is the batch delivered last.
      b->joins = head != nullptr && b->conn != 0 && b->conn == ctx->last_conn;
      b->next = head;
    } while (!ctx->pending.compare_exchange_weak(head, b,
                                                 std::memory_order_release,
                                                 std::memory_order_relaxed));
    ctx->last_conn = b->conn;
    if (!b->joins)
      // On failure the env is going away: Finalize frees what is queued.
      napi_call_threadsafe_function(ctx->tsfn, nullptr, napi_tsfn_nonblocking);
  }

  // JS thread: moves the batches queued to the end of carry, oldest first.
  static void TakePending(Context *ctx) {
    nu_batch *p = ctx->pending.exchange(nullptr, std::memory_order_acquire);
    nu_batch *fifo = nullptr, *last = p;
    while (p != nullptr) {
      nu_batch *next = p->next;
      p->next = fifo;
      fifo = p;
      p = next;
    }
    if (fifo == nullptr)
      return;
    if (ctx->carry_last != nullptr)
      ctx->carry_last->next = fifo;
    else
      ctx->carry = fifo;
    ctx->carry_last = last;
  }

  // JS thread: frees every batch queued (the env is going away).
  static void FreeQueued(Context *ctx) {
    TakePending(ctx);
    for (nu_batch *b = ctx->carry, *next; b != nullptr; b = next) {
      next = b->next;
      nu_batch_free(b);
    }
    ctx->carry = ctx->carry_last = nullptr;
  }

  // Ring thread, last call: lets the finalizer run once batches are in.
  static void Exited(void *arg) {
    napi_release_threadsafe_function(static_cast<Context *>(arg)->tsfn,
                                     napi_tsfn_release);
  }

  // JS thread: calls onBatch for this call's batches: the oldest queued
  // and those that join it. At teardown (env null) ctx may be freed
  // already; Finalize freed what was queued.
  static void CallJs(napi_env env, napi_value cb, void *arg, void *) {
    if (env == nullptr)
      return;
    auto *ctx = static_cast<Context *>(arg);
    TakePending(ctx);
    nu_batch *b = ctx->carry;
    while (b != nullptr) {
      nu_batch *next = b->next;
      if (cb != nullptr)
        CallOne(env, cb, ctx, b);
      else
        Core::Done(ctx->core, b);
      b = next;
      if (b != nullptr && !b->joins)
        break; // its own call comes next
    }
    ctx->carry = b;
    if (b == nullptr)
      ctx->carry_last = nullptr;
  }

  // JS thread: turns the batch into onBatch's arguments, gives it back,
  // and calls onBatch.
  static void CallOne(napi_env env, napi_value cb, Context *ctx, nu_batch *b) {
    napi_value argv[2], undefined;
    napi_status st = Core::ToJs(env, b, argv);
    Core::Done(ctx->core, b);
    if (st != napi_ok)
      return;
    napi_get_undefined(env, &undefined);
    if (napi_call_function(env, undefined, cb, 2, argv, nullptr) ==
        napi_pending_exception)
      RethrowUncaught(env);
  }

  // Node 20 would only warn about an exception escaping a threadsafe
  // function call; make it an uncaught exception, as it should be.
  static void RethrowUncaught(napi_env env) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }

  // JS thread, once the ring thread released the function (or the env is
  // going away): joins the thread and frees the core.
  static void Finalize(napi_env env, void *data, void *) {
    auto *ctx = static_cast<Context *>(data);
    if (ctx->core != nullptr) {
      Core::Stop(ctx->core); // a no-op unless the env is going away
      Core::Join(ctx->core);
    }
    FreeQueued(ctx); // none, unless the env is going away
    if (ctx->core != nullptr)
      Core::Destroy(ctx->core);
    if (ctx->cleanup_hooked)
      napi_remove_env_cleanup_hook(env, Cleanup, ctx);
    ctx->DropPoll();
    if (env != nullptr && ctx->on_batch != nullptr)
      napi_delete_reference(env, ctx->on_batch);
    if (env != nullptr && ctx->async != nullptr)
      napi_async_destroy(env, ctx->async);
    if (ctx->owner != nullptr)
      ctx->owner->Detach();
    delete ctx;
  }

  // The env is being torn down (worker exit) with the core running: stop
  // the ring thread at once and wait for it, so no thread outlives the env.
  static void Cleanup(void *arg) {
    auto *ctx = static_cast<Context *>(arg);
    ctx->cleanup_hooked = false;
    ctx->tearing = true;
    Core::Stop(ctx->core);
    Core::Join(ctx->core);
  }
};

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
    if (ctx_ != nullptr)
      ctx_->Ref(info.Env(), true);
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo &info) {
    if (ctx_ != nullptr)
      ctx_->Ref(info.Env(), false);
    return info.Env().Undefined();
  }
};

} // namespace nu_addon

#endif

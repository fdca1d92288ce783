// context.h: what a native object shares with its ring thread. A Context
// holds the C core (a server or a queue) and the threadsafe function that
// carries its batches to JS; a ContextOwner is the JS object in front of
// it. Either may outlive the other; the threadsafe function's finalizer
// frees the context (see node-addon-api's ThreadSafeFunction docs).
#ifndef NU_ADDON_CONTEXT_H
#define NU_ADDON_CONTEXT_H

#include <napi.h>

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
// Batches wait on `pending` (linked through their pool link, newest
// first), and one function call takes all of those delivered before it
// runs: Node drains the nextTick and microtask queues after each call,
// and node:http hands JS in one read what reached the socket while JS was
// busy, so a peer's writes of one moment are seen in one go (socket.io
// drops a packet that a disconnect right behind it cancels).
template <typename Core> struct Context {
  using T = typename Core::Type;
  T *core = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  std::atomic<nu_batch *> pending{nullptr};
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

  // Ring thread: queues the batch; a call is made only when none is on its
  // way already (the queue was empty), never blocking.
  static void Deliver(void *arg, nu_batch *b) {
    auto *ctx = static_cast<Context *>(arg);
    nu_batch *head = ctx->pending.load(std::memory_order_relaxed);
    do
      b->next = head;
    while (!ctx->pending.compare_exchange_weak(head, b,
                                               std::memory_order_release,
                                               std::memory_order_relaxed));
    if (head != nullptr)
      return;
    if (napi_call_threadsafe_function(ctx->tsfn, nullptr,
                                      napi_tsfn_nonblocking) != napi_ok) {
      // The env is going away: nobody will take them.
      for (nu_batch *p = TakePending(ctx), *next; p != nullptr; p = next) {
        next = p->next;
        Core::Done(ctx->core, p);
      }
    }
  }

  // Any thread: the queued batches, oldest first.
  static nu_batch *TakePending(Context *ctx) {
    nu_batch *p = ctx->pending.exchange(nullptr, std::memory_order_acquire);
    nu_batch *fifo = nullptr;
    while (p != nullptr) {
      nu_batch *next = p->next;
      p->next = fifo;
      fifo = p;
      p = next;
    }
    return fifo;
  }

  // Ring thread, last call: lets the finalizer run once batches are in.
  static void Exited(void *arg) {
    napi_release_threadsafe_function(static_cast<Context *>(arg)->tsfn,
                                     napi_tsfn_release);
  }

  // JS thread: calls onBatch for each batch queued, oldest first, in this
  // one call. At teardown (env null) ctx may be freed already; Finalize
  // freed what was queued.
  static void CallJs(napi_env env, napi_value cb, void *arg, void *) {
    if (env == nullptr)
      return;
    auto *ctx = static_cast<Context *>(arg);
    for (nu_batch *b = TakePending(ctx), *next; b != nullptr; b = next) {
      next = b->next;
      if (cb != nullptr)
        CallOne(env, cb, ctx, b);
      else
        Core::Done(ctx->core, b);
    }
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
    }
    // Batches no call will take (the env is going away).
    for (nu_batch *b = TakePending(ctx), *next; b != nullptr; b = next) {
      next = b->next;
      nu_batch_free(b);
    }
    if (ctx->core != nullptr)
      Core::Destroy(ctx->core);
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

} // namespace nu_addon

#endif

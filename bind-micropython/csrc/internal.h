// C-only declarations shared by the shim's files (the Rust contract is in shim.h).
#ifndef AWAITQ_MP_INTERNAL_H
#define AWAITQ_MP_INTERNAL_H

#include "py/obj.h"
#include "shim.h"

// An fd-based wake-up (eventfd, or a pipe off Linux) exists where select.poll can sleep on
// file descriptors: the unix port with its POSIX poll() path.
#if (defined(__unix__) || defined(__APPLE__)) && MICROPY_PY_SELECT_POSIX_OPTIMISATIONS
#define AWAITQ_MP_HAVE_FD (1)
#else
#define AWAITQ_MP_HAVE_FD (0)
#endif

// awaitq.testing.spawn_producer needs native threads the VM does not know about.
#if defined(__unix__) && MICROPY_PY_THREAD
#define AWAITQ_MP_HAVE_TESTING (1)
#else
#define AWAITQ_MP_HAVE_TESTING (0)
#endif

extern const mp_obj_type_t awaitq_mp_type_Channel;
extern const mp_obj_type_t awaitq_mp_type_Op;
extern const mp_obj_type_t awaitq_mp_type_Error;
extern const mp_obj_type_t awaitq_mp_type_ChannelClosed;
extern const mp_obj_type_t awaitq_mp_type_ChannelFull;
#if AWAITQ_MP_HAVE_TESTING
extern const mp_obj_module_t awaitq_mp_testing_module;
#endif
#if AWAITQ_MP_CONT
extern const mp_obj_type_t awaitq_mp_type_NativeAwaitable;
extern const mp_obj_type_t awaitq_mp_type_SystemError;
#if AWAITQ_MP_HAVE_TESTING
extern const mp_obj_module_t awaitq_mp_testing_cont_module;
#endif
#endif

// The exception type of an error kind (enum awaitq_mp_exc).
const mp_obj_type_t *awaitq_mp_exc_type(uint8_t exc);
// Raises the exception an error from Rust describes.
NORETURN void awaitq_mp_raise(const awaitq_mp_error_t *err);

// Argument conversions shared by the methods (raise TypeError / ValueError).
void awaitq_mp_get_payload(mp_obj_t data, mp_buffer_info_t *bufinfo);
uint32_t awaitq_mp_get_tag(mp_obj_t tag);
// A size-like int argument (capacity, max_frame, n, count): negative and huge values are
// clamped (to 0 / the largest mp_int_t) so the range check that follows reports them.
mp_int_t awaitq_mp_get_size(mp_obj_t obj, qstr what);

// The next queued frame as bytes (allocated at its exact size), or MP_OBJ_NULL when the
// channel is empty. Raises ChannelClosed once closed and drained.
mp_obj_t awaitq_mp_take_bytes(awaitq_mp_channel_obj_t *ch, uint32_t *tag);

// An awaitable of `kind` on `ch`: the channel's recycled one if it finished, else a new one.
awaitq_mp_op_obj_t *awaitq_mp_op_new(awaitq_mp_channel_obj_t *ch, uint8_t kind, mp_obj_t arg);

// asyncio's I/O queue (ioq.c): asyncio.core if imported (else MP_OBJ_NULL); the queue's entry
// for `self` in `ioq` (or MP_OBJ_NULL); leave it if still there (clears *ioq); join it for the
// current task (raises RuntimeError without one, before registering; sets *ioq).
mp_obj_t awaitq_mp_asyncio_core(void);
mp_obj_t awaitq_mp_ioq_entry(mp_obj_t self, mp_obj_t ioq);
void awaitq_mp_ioq_leave(mp_obj_t self, mp_obj_t *ioq);
void awaitq_mp_ioq_join(mp_obj_t self, mp_obj_t *ioq);

#if AWAITQ_MP_HAVE_FD
void awaitq_mp_wake_fd_open(awaitq_mp_channel_obj_t *self);
void awaitq_mp_wake_fd_drain(awaitq_mp_channel_obj_t *self);
void awaitq_mp_wake_fd_close(awaitq_mp_channel_obj_t *self);
#endif

#endif // AWAITQ_MP_INTERNAL_H

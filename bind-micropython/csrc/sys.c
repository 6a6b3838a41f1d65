// Services the Rust side calls (atomic section, wake hook, abort) and the unix wake fd.
// None of these raise or allocate: they run inside Rust frames, on producer threads and in ISRs.
#include <stdlib.h>

#include "py/mpconfig.h"
#include "py/mphal.h"
#include "py/mpthread.h"
#include "py/nlr.h"

#include "awaitq_mp.h"
#include "internal.h"

#if AWAITQ_MP_HAVE_FD
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif
#endif

uintptr_t awaitq_mp_sys_atomic_begin(void) {
    return (uintptr_t)MICROPY_BEGIN_ATOMIC_SECTION();
}

void awaitq_mp_sys_atomic_end(uintptr_t state) {
    MICROPY_END_ATOMIC_SECTION(state);
}

// Default port wake hook: nothing. On most ports the waiting loop already wakes by itself
// (see ports/awaitq_mp.h for what each port puts here).
MP_WEAK void awaitq_port_wake(const awaitq_channel_t *ch) {
    (void)ch;
}

#if AWAITQ_MP_HAVE_FD
// A wake fd: an eventfd (rfd == wfd) on Linux, a non-blocking pipe elsewhere; -1 / -1 if the
// process is out of descriptors (the awaitables then fall back to ioctl polling).
static void fd_open(int *rfd, int *wfd) {
    *rfd = *wfd = -1;
    #if defined(__linux__)
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0) {
        *rfd = *wfd = fd;
    }
    #else
    int fds[2];
    if (pipe(fds) == 0) {
        for (int i = 0; i < 2; ++i) {
            fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
            fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        }
        *rfd = fds[0];
        *wfd = fds[1];
    }
    #endif
}

// Makes the read end readable: eventfd: add 1; pipe: one byte. EAGAIN (counter/pipe full)
// still leaves it readable, which is what asyncio's poll() sleeps on.
static void fd_write(int rfd, int wfd) {
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(wfd, &one, rfd == wfd ? sizeof(one) : 1);
    } while (n < 0 && errno == EINTR);
}

static void fd_drain(int rfd, int wfd) {
    uint64_t buf[8];
    if (rfd == wfd) {
        // eventfd: one read returns the counter and resets it (EAGAIN when already 0).
        ssize_t n = read(rfd, buf, sizeof(uint64_t));
        (void)n;
    } else {
        // pipe: read until empty (EAGAIN).
        while (read(rfd, buf, sizeof(buf)) > 0) {
        }
    }
}
#endif

// The core's wake hook. Runs on the producer's context (thread, RTOS task, ISR) after the
// core left its critical section, at most once per park of a consumer.
void awaitq_mp_sys_wake(uintptr_t ctx) {
    const awaitq_mp_channel_obj_t *self = (const awaitq_mp_channel_obj_t *)ctx;
    #if AWAITQ_MP_HAVE_FD
    if (self->wake_wfd >= 0) {
        fd_write(self->wake_rfd, self->wake_wfd);
    }
    #endif
    awaitq_port_wake((const awaitq_channel_t *)self->core);
}

void awaitq_mp_sys_abort(void) {
    #if defined(__unix__) || defined(__APPLE__)
    abort();
    #else
    // Every port implements this (it is what an uncaught nlr jump ends in): reset or halt.
    nlr_jump_fail(NULL);
    #endif
}

#if AWAITQ_MP_HAVE_FD

void awaitq_mp_wake_fd_open(awaitq_mp_channel_obj_t *self) {
    // Without an fd the awaitables fall back to ioctl(MP_STREAM_POLL), like on an MCU.
    fd_open(&self->wake_rfd, &self->wake_wfd);
}

void awaitq_mp_wake_fd_drain(awaitq_mp_channel_obj_t *self) {
    if (self->wake_rfd >= 0) {
        fd_drain(self->wake_rfd, self->wake_wfd);
    }
}

void awaitq_mp_wake_fd_close(awaitq_mp_channel_obj_t *self) {
    if (self->wake_rfd >= 0) {
        close(self->wake_rfd);
    }
    if (self->wake_wfd >= 0 && self->wake_wfd != self->wake_rfd) {
        close(self->wake_wfd);
    }
    self->wake_rfd = self->wake_wfd = -1;
}

#endif

#if AWAITQ_MP_CONT
// Wake slots of Rust futures (src/cont/waker.rs): one fd per slot, made on its first wait and
// kept for the life of the process (slots, and their fds, are reused).

int awaitq_mp_sys_wake_fd_new(int *wfd) {
    int rfd = -1;
    *wfd = -1;
    #if AWAITQ_MP_HAVE_FD
    fd_open(&rfd, wfd);
    #endif
    return rfd;
}

void awaitq_mp_sys_wake_fd_drain(int rfd, int wfd) {
    #if AWAITQ_MP_HAVE_FD
    if (rfd >= 0) {
        fd_drain(rfd, wfd);
    }
    #else
    (void)rfd;
    (void)wfd;
    #endif
}

// Any thread or ISR: the same wake path as a channel's.
void awaitq_mp_sys_wake_slot(int rfd, int wfd) {
    #if AWAITQ_MP_HAVE_FD
    if (rfd >= 0) {
        fd_write(rfd, wfd);
    }
    #else
    (void)rfd;
    (void)wfd;
    #endif
    awaitq_port_wake(NULL);
}
#endif

// The cooperative scheduler (see sched.h). Round-robin over ready tasks; when none is ready,
// the simulated clock jumps to the earliest timeout.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#include "sched.h"

#define MAX_TASKS (8)
// No test needs more than a few hundred thousand switches; a spinning task hits this fast.
#define MAX_TURNS (5000000u)

typedef enum { TASK_READY, TASK_BLOCKED, TASK_DONE } task_state_t;

struct rtos_task {
    const char *name;
    ucontext_t ctx;
    void *stack;
    void (*entry)(void *);
    void *arg;
    task_state_t state;
    bool notification;      // latched notification (binary semaphore)
    bool wants_notify;      // blocked in rtos_wait (not rtos_sleep)
    bool woke_by_notify;
    uint64_t deadline;      // simulated ms; UINT64_MAX: none
    rtos_task_stats_t stats;
};

static rtos_task_t tasks[MAX_TASKS];
static int n_tasks;
static rtos_task_t *current;
static ucontext_t sched_ctx;
static uint64_t now_ms;
static uint32_t critical_nesting;
static rtos_sched_stats_t sched_stats;

static void fail(const char *what) {
    fprintf(stderr, "rtos: %s (task %s)\n", what, current ? current->name : "-");
    fflush(stdout);
    exit(3);
}

static void trampoline(void) {
    current->entry(current->arg);
    current->state = TASK_DONE;
    swapcontext(&current->ctx, &sched_ctx);
}

rtos_task_t *rtos_task_create(const char *name, void (*entry)(void *), void *arg, size_t stack_size) {
    if (n_tasks == MAX_TASKS) {
        fail("too many tasks");
    }
    rtos_task_t *t = &tasks[n_tasks++];
    *t = (rtos_task_t) {.name = name, .entry = entry, .arg = arg, .state = TASK_READY, .deadline = UINT64_MAX};
    t->stack = malloc(stack_size);
    if (t->stack == NULL || getcontext(&t->ctx) != 0) {
        fail("cannot create task");
    }
    t->ctx.uc_stack.ss_sp = t->stack;
    t->ctx.uc_stack.ss_size = stack_size;
    t->ctx.uc_link = NULL;
    makecontext(&t->ctx, trampoline, 0);
    return t;
}

// Gives the CPU back to the scheduler loop.
static void switch_out(void) {
    if (critical_nesting != 0) {
        fail("task gave the CPU away inside a critical section");
    }
    swapcontext(&current->ctx, &sched_ctx);
}

void rtos_run(void) {
    int next = 0;
    for (;;) {
        rtos_task_t *pick = NULL;
        bool alive = false;
        for (int i = 0; i < n_tasks && pick == NULL; ++i) {
            rtos_task_t *t = &tasks[(next + i) % n_tasks];
            if (t->state == TASK_READY) {
                pick = t;
                next = (int)(t - tasks + 1) % n_tasks;
            }
        }
        for (int i = 0; i < n_tasks; ++i) {
            alive |= tasks[i].state != TASK_DONE;
        }
        if (!alive) {
            return;
        }
        if (pick == NULL) {
            // Every task is blocked: idle until the earliest timeout.
            uint64_t earliest = UINT64_MAX;
            for (int i = 0; i < n_tasks; ++i) {
                if (tasks[i].state == TASK_BLOCKED && tasks[i].deadline < earliest) {
                    earliest = tasks[i].deadline;
                }
            }
            if (earliest == UINT64_MAX) {
                current = NULL;
                fail("deadlock: every task waits without a timeout (a lost wake-up?)");
            }
            if (earliest > now_ms) {
                now_ms = earliest;
            }
            sched_stats.idle_jumps += 1;
            for (int i = 0; i < n_tasks; ++i) {
                if (tasks[i].state == TASK_BLOCKED && tasks[i].deadline <= now_ms) {
                    tasks[i].state = TASK_READY;
                    tasks[i].woke_by_notify = false;
                }
            }
            continue;
        }
        if (++sched_stats.turns > MAX_TURNS) {
            current = pick;
            fail("turn budget exhausted: a task spins instead of waiting");
        }
        pick->stats.turns += 1;
        current = pick;
        swapcontext(&sched_ctx, &pick->ctx);
        current = NULL;
    }
}

rtos_task_t *rtos_current(void) {
    return current;
}

void rtos_yield(void) {
    current->stats.yields += 1;
    switch_out();
}

bool rtos_wait(uint32_t timeout_ms) {
    rtos_task_t *t = current;
    if (t->notification) {
        t->notification = false;
        return true;
    }
    if (timeout_ms == 0) {
        return false;
    }
    t->stats.waits += 1;
    t->state = TASK_BLOCKED;
    t->wants_notify = true;
    t->deadline = timeout_ms == RTOS_FOREVER ? UINT64_MAX : now_ms + timeout_ms;
    switch_out();
    t->deadline = UINT64_MAX;
    t->wants_notify = false;
    if (t->woke_by_notify) {
        t->notification = false;
        t->stats.notified += 1;
        return true;
    }
    t->stats.timeouts += 1;
    return false;
}

void rtos_notify(rtos_task_t *task) {
    task->notification = true;
    if (task->state == TASK_BLOCKED && task->wants_notify) {
        task->state = TASK_READY;
        task->woke_by_notify = true;
    }
}

void rtos_sleep(uint32_t ms) {
    rtos_task_t *t = current;
    t->state = TASK_BLOCKED;
    t->deadline = now_ms + ms;
    switch_out();
    t->deadline = UINT64_MAX;
}

uint64_t rtos_now_ms(void) {
    return now_ms;
}

uint32_t rtos_critical_enter(void) {
    return critical_nesting++;
}

void rtos_critical_exit(uint32_t state) {
    critical_nesting = state;
}

rtos_task_stats_t rtos_task_stats(const rtos_task_t *task) {
    return task->stats;
}

rtos_sched_stats_t rtos_sched_stats(void) {
    return sched_stats;
}

// A small cooperative RTOS for the awaitq embedding test: tasks on their own stacks (ucontext),
// task notifications, sleeps, a critical section, and a simulated clock.
//
// It models the shape of the user's system, not a particular RTOS: one task runs MicroPython,
// others are C tasks; nothing preempts; a task runs until it yields, waits or ends. The API
// maps one to one onto FreeRTOS (taskYIELD, ulTaskNotifyTake/xTaskNotifyGive, vTaskDelay,
// taskENTER_CRITICAL) and Zephyr (k_yield, k_sem_take/k_sem_give, k_msleep, irq_lock).
//
// Simulated time: the clock only moves when every task is blocked; it then jumps to the
// earliest timeout (a tickless idle that costs no real time). Runs are therefore
// deterministic, and a task that never blocks (spins) stops time altogether, which the
// scheduler detects with a turn budget. If every task waits with no timeout, that is a
// deadlock (a lost wake-up, typically) and the run fails.
#ifndef AWAITQ_RTOS_SCHED_H
#define AWAITQ_RTOS_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTOS_FOREVER (0xFFFFFFFFu)

typedef struct rtos_task rtos_task_t;

typedef struct {
    uint32_t turns;         // times the scheduler switched to the task
    uint32_t waits;         // rtos_wait calls that blocked
    uint32_t notified;      // ... that ended because of a notification
    uint32_t timeouts;      // ... that ended because the timeout expired
    uint32_t yields;        // rtos_yield calls
} rtos_task_stats_t;

typedef struct {
    uint64_t turns;         // all tasks
    uint32_t idle_jumps;    // times every task was blocked and the clock jumped ahead
} rtos_sched_stats_t;

rtos_task_t *rtos_task_create(const char *name, void (*entry)(void *arg), void *arg, size_t stack_size);
// Runs the tasks until all have returned. Exits the process on deadlock or runaway spinning.
void rtos_run(void);

rtos_task_t *rtos_current(void);
void rtos_yield(void);
// Blocks until notified or until timeout_ms passes (RTOS_FOREVER: no timeout). A
// notification given while the task was not waiting is remembered (binary semaphore), so a
// wake-up cannot be lost between checking a condition and waiting. Returns true if notified.
bool rtos_wait(uint32_t timeout_ms);
// Wakes `task` from rtos_wait (or makes its next rtos_wait return at once). Any context.
void rtos_notify(rtos_task_t *task);
void rtos_sleep(uint32_t ms);
uint64_t rtos_now_ms(void);

// Nothing preempts a task, so a critical section only has to guarantee that its owner does
// not give the CPU away inside it; the scheduler aborts the run if it does.
uint32_t rtos_critical_enter(void);
void rtos_critical_exit(uint32_t state);

rtos_task_stats_t rtos_task_stats(const rtos_task_t *task);
rtos_sched_stats_t rtos_sched_stats(void);

#endif // AWAITQ_RTOS_SCHED_H

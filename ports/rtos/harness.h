// The tasks of the RTOS harness and what they share.
#ifndef AWAITQ_RTOS_HARNESS_H
#define AWAITQ_RTOS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "sched.h"

extern rtos_task_t *harness_vm_task;
extern rtos_task_t *harness_producer_task;
extern uint32_t harness_vm_wakes;   // awaitq_port_wake calls

// The C producer task's body (producer.c). Waits for a job from Python (rtos.start_producer),
// runs it, and returns once harness_producer_shutdown() was called.
void harness_producer_main(void *arg);
// Stops the current job (before the Python heap goes away) and ends the task.
void harness_producer_shutdown(void);

typedef struct {
    uint32_t turns;         // scheduler turns the VM task got
    uint32_t waits;         // idle waits that blocked the VM task
    uint32_t notified;      // ... ended by the producer's notification
    uint32_t timeouts;      // ... ended by their timeout
    uint32_t idle_calls;    // MICROPY_INTERNAL_WFE calls
    uint32_t hook_yields;   // time slices given away from MICROPY_VM_HOOK_*
    uint32_t wakes;         // awaitq_port_wake calls
} harness_vm_stats_t;
harness_vm_stats_t harness_vm_stats(void);

#endif // AWAITQ_RTOS_HARNESS_H

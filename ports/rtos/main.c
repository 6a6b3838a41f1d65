// The cooperative-RTOS harness: MicroPython runs as one task of a small cooperative scheduler
// (sched.c), next to a C task that fills an awaitq channel (producer.c).
//
//     rtos_harness script.py      runs the script in the VM task; exit status 0 when every
//                                 task finished (a deadlock or a spinning task exits with 3)
#include <stdio.h>
#include <stdlib.h>

#include "port/micropython_embed.h"
#include "py/stackctrl.h"

#include "harness.h"

#define VM_STACK_SIZE (256 * 1024)
#define PRODUCER_STACK_SIZE (64 * 1024)

rtos_task_t *harness_vm_task;
rtos_task_t *harness_producer_task;
uint32_t harness_vm_wakes;

static char gc_heap[512 * 1024];
static char *script;

static void vm_task_main(void *arg) {
    (void)arg;
    int stack_top;  // the VM task's stack starts here (the GC scans from here down)
    mp_embed_init(gc_heap, sizeof(gc_heap), &stack_top);
    mp_stack_set_limit(VM_STACK_SIZE - 32 * 1024);
    mp_embed_exec_str(script);
    // Lifetime rule (awaitq_mp.h): no producer may touch a channel after the heap is gone.
    harness_producer_shutdown();
    mp_embed_deinit();
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s script.py\n", argv[0]);
        return 2;
    }
    script = read_file(argv[1]);
    harness_vm_task = rtos_task_create("micropython", vm_task_main, NULL, VM_STACK_SIZE);
    harness_producer_task = rtos_task_create("producer", harness_producer_main, NULL, PRODUCER_STACK_SIZE);
    rtos_run();
    fflush(stdout);
    return 0;
}

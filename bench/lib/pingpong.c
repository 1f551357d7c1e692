/*
 * Cross-CPU cache-line round trip: one thread pinned to CPU A writes a counter, a thread pinned to
 * CPU B echoes it on another cache line, A waits for the echo. Prints the mean round trip of each
 * half second. On a virtual machine this moves with the host's placement of the two vCPUs, which is
 * what a polling client and server on two CPUs pay for every hand-off.
 *
 * usage: pingpong [SECONDS(half-seconds count, default 4)] [CPU_A (0)] [CPU_B (1)]
 * build: cc -O2 -pthread -o pingpong bench/lib/pingpong.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) _Atomic long ping;
static _Alignas(64) _Atomic long pong;
static _Alignas(64) _Atomic int stop;
static int cpu_b = 1;

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *echo(void *arg) {
    (void) arg;
    pin(cpu_b);
    long seen = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        long p = atomic_load_explicit(&ping, memory_order_acquire);
        if (p != seen) {
            seen = p;
            atomic_store_explicit(&pong, p, memory_order_release);
        }
    }
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int halves = argc > 1 ? atoi(argv[1]) : 4;
    int cpu_a = argc > 2 ? atoi(argv[2]) : 0;
    cpu_b = argc > 3 ? atoi(argv[3]) : 1;
    pin(cpu_a);
    pthread_t t;
    if (pthread_create(&t, NULL, echo, NULL) != 0) return 1;
    long i = 0;
    for (int h = 0; h < halves; h++) {
        double t0 = now();
        long n = 0;
        while (now() - t0 < 0.5) {
            for (int k = 0; k < 1000; k++) {
                i++;
                atomic_store_explicit(&ping, i, memory_order_release);
                while (atomic_load_explicit(&pong, memory_order_acquire) != i) { }
            }
            n += 1000;
        }
        printf("%s%.0f", h ? " " : "", (now() - t0) / n * 1e9);
    }
    printf(" ns\n");
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    return 0;
}

#define _GNU_SOURCE
#include "shakedown_jitter.h"
#include "shakedown_preempt_core.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>

// Each thread draws from its own stream; counters are written by the owner only (relaxed stores, plain moves on
// x86) and read by anyone, so the report can sum them without a lock and without a data race.
typedef struct shakedown_jitter_stream {
    uint64_t state;     // SplitMix64 state: owner thread only
    uint64_t owner;     // the owning thread's unique id
    uint32_t order;     // 0 for the first thread that reached a point
    uint64_t points;    // atomic (relaxed)
    uint64_t actions;   // atomic (relaxed)
    uint64_t digest;    // atomic (relaxed)
    struct shakedown_jitter_stream *next;  // immutable once published
} shakedown_jitter_stream;

struct shakedown_jitter_root {
    uint64_t seed;
    uint64_t tag;       // unique per root in this process, so a cached stream is never a freed root's
    uint64_t threshold;
    uint32_t yield_weight, sleep_weight, spin_weight;
    uint64_t max_sleep_us, max_spin;
    uint32_t next_order;                 // atomic
    shakedown_jitter_stream *head;       // atomic; pushed with CAS
};

shakedown_jitter_root *shakedown_jitter_ambient_root = 0;

static uint64_t next_tag = 1;        // atomic
static uint64_t next_thread_id = 1;  // atomic
static __thread uint64_t thread_id;
static __thread uint64_t cached_tag;
static __thread shakedown_jitter_stream *cached_stream;

#define RELAXED_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RELAXED_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static inline uint64_t splitmix_next(uint64_t *state) {
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The same derivation as Seed.derived(for:): thread k > 0 of a worker gets an independent stream.
static uint64_t thread_seed(uint64_t seed, uint32_t order) {
    if (order == 0) return seed;
    uint64_t mixer = seed ^ (0x9E3779B97F4A7C15ull * ((uint64_t)order + 1));
    return splitmix_next(&mixer);
}

shakedown_jitter_root *shakedown_jitter_root_create(uint64_t seed, uint64_t threshold, uint32_t yield_weight,
                                                    uint32_t sleep_weight, uint32_t spin_weight,
                                                    uint64_t max_sleep_us, uint64_t max_spin) {
    shakedown_jitter_root *root = calloc(1, sizeof *root);
    if (!root) return 0;
    root->seed = seed;
    root->tag = __atomic_fetch_add(&next_tag, 1, __ATOMIC_RELAXED);
    root->threshold = threshold;
    root->yield_weight = yield_weight;
    root->sleep_weight = sleep_weight;
    root->spin_weight = spin_weight;
    root->max_sleep_us = max_sleep_us ? max_sleep_us : 1;
    root->max_spin = max_spin ? max_spin : 1;
    return root;
}

void shakedown_jitter_root_destroy(shakedown_jitter_root *root) {
    shakedown_jitter_stream *stream = __atomic_load_n(&root->head, __ATOMIC_ACQUIRE);
    while (stream) {
        shakedown_jitter_stream *next = stream->next;
        free(stream);
        stream = next;
    }
    free(root);
}

static shakedown_jitter_stream *stream_for_this_thread(shakedown_jitter_root *root) {
    if (cached_tag == root->tag) return cached_stream;
    if (thread_id == 0) thread_id = __atomic_fetch_add(&next_thread_id, 1, __ATOMIC_RELAXED);
    shakedown_jitter_stream *stream = __atomic_load_n(&root->head, __ATOMIC_ACQUIRE);
    while (stream && stream->owner != thread_id) stream = stream->next;
    if (!stream) {
        stream = calloc(1, sizeof *stream);
        if (!stream) return 0;
        stream->owner = thread_id;
        stream->order = __atomic_fetch_add(&root->next_order, 1, __ATOMIC_RELAXED);
        stream->state = thread_seed(root->seed, stream->order);
        stream->digest = 0xCBF29CE484222325ull;
        shakedown_jitter_stream *head = __atomic_load_n(&root->head, __ATOMIC_RELAXED);
        do {
            stream->next = head;
        } while (!__atomic_compare_exchange_n(&root->head, &head, stream, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
    }
    cached_tag = root->tag;
    cached_stream = stream;
    return stream;
}

static inline void record(shakedown_jitter_stream *stream, uint64_t decision) {
    RELAXED_STORE(&stream->digest, (RELAXED_LOAD(&stream->digest) ^ decision) * 0x100000001B3ull);
}

void shakedown_jitter_spin(uint64_t iterations) {
    for (uint64_t i = 0; i < iterations; i++) {
        // An empty asm with a memory clobber: the compiler must assume it has effects, so the loop stays.
        __asm__ __volatile__("" ::: "memory");
    }
}

void shakedown_jitter_point(shakedown_jitter_root *root) {
    shakedown_jitter_stream *stream = stream_for_this_thread(root);
    if (!stream) {  // out of memory: still perturb, without a stream of our own
        sched_yield();
        return;
    }
    RELAXED_STORE(&stream->points, RELAXED_LOAD(&stream->points) + 1);
    uint64_t draw = splitmix_next(&stream->state);
    uint64_t total = (uint64_t)root->yield_weight + root->sleep_weight + root->spin_weight;
    if (!(draw <= root->threshold || root->threshold == UINT64_MAX) || total == 0) {
        record(stream, 0);
        return;
    }
    RELAXED_STORE(&stream->actions, RELAXED_LOAD(&stream->actions) + 1);
    uint64_t pick = splitmix_next(&stream->state) % total;
    if (pick < root->yield_weight) {
        record(stream, 1);
        sched_yield();
        return;
    }
    pick -= root->yield_weight;
    uint64_t amount = splitmix_next(&stream->state);
    if (pick < root->sleep_weight) {
        uint64_t micros = 1 + amount % root->max_sleep_us;
        record(stream, 2 + (micros << 2));
        struct timespec pause = {(time_t)(micros / 1000000), (long)(micros % 1000000) * 1000};
        nanosleep(&pause, 0);
    } else {
        uint64_t spins = amount % root->max_spin;
        record(stream, 3 + (spins << 2));
        shakedown_jitter_spin(spins);
    }
}

uint64_t shakedown_jitter_points(const shakedown_jitter_root *root) {
    uint64_t sum = 0;
    for (shakedown_jitter_stream *s = __atomic_load_n(&root->head, __ATOMIC_ACQUIRE); s; s = s->next)
        sum += RELAXED_LOAD(&s->points);
    return sum;
}

uint64_t shakedown_jitter_actions(const shakedown_jitter_root *root) {
    uint64_t sum = 0;
    for (shakedown_jitter_stream *s = __atomic_load_n(&root->head, __ATOMIC_ACQUIRE); s; s = s->next)
        sum += RELAXED_LOAD(&s->actions);
    return sum;
}

uint32_t shakedown_jitter_threads(const shakedown_jitter_root *root) {
    return RELAXED_LOAD(&root->next_order);
}

uint64_t shakedown_jitter_digest(const shakedown_jitter_root *root) {
    uint32_t count = RELAXED_LOAD(&root->next_order);
    uint64_t digest = 0xCBF29CE484222325ull;
    for (uint32_t order = 0; order < count; order++) {
        for (shakedown_jitter_stream *s = __atomic_load_n(&root->head, __ATOMIC_ACQUIRE); s; s = s->next) {
            if (s->order != order) continue;
            uint64_t own = RELAXED_LOAD(&s->digest);
            if (count == 1) return own;
            digest = (digest ^ own) * 0x100000001B3ull;
        }
    }
    return digest;
}

void shakedown_jitter_set_ambient(shakedown_jitter_root *root) {
    __atomic_store_n(&shakedown_jitter_ambient_root, root, __ATOMIC_RELEASE);
}

// MARK: preemption in this process

int shakedown_preempt_signal(void) { return SIGRTMAX - 2; }

int shakedown_preempt_install(uint64_t seed, uint64_t max_interval_ns, uint32_t yield_weight, uint32_t sleep_weight,
                              uint32_t spin_weight, uint64_t max_sleep_ns, uint64_t max_spin, int *error) {
    sp_config config = {seed, max_interval_ns, yield_weight, sleep_weight, spin_weight, max_sleep_ns, max_spin,
                        shakedown_preempt_signal()};
    sp_real_sigaction = sigaction;
    return sp_install(&config, error);
}

int shakedown_preempt_arm_current_thread(void) { return sp_arm_thread(); }

void shakedown_preempt_stop(void) { sp_step_aside(); }

uint64_t shakedown_preempt_fired(void) { return __atomic_load_n(&sp_fired, __ATOMIC_RELAXED); }

uint64_t shakedown_preempt_fired_blocked(void) { return __atomic_load_n(&sp_fired_blocked, __ATOMIC_RELAXED); }

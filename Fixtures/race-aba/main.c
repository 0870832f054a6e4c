// Race catalogue: ABA-style slot reuse. `race-aba [--fixed] FILE N` shares a free list of 16 slots with the other
// copies through FILE (mapped MAP_SHARED): N times, a copy pops a slot with a compare-and-swap on the list head, marks
// itself its owner, and pushes it back. A pop reads the head A and A's successor B, then swaps head A for B. When
// other copies pop A and B and push A back in between, the swap still sees A and succeeds: the list now starts with
// B, which another copy owns, and two copies hold one slot. A copy that finds its slot owned exits 1 ("slot K owned
// by two copies"); one that finds the list lost its slots exits 1 too. The fixed twin tags the head with a count of
// swaps (one 64-bit compare-and-swap over both), so a reused A no longer matches. No Shakedown code in here.
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 16
#define EMPTY 0xFFFFFFFFu

typedef struct shared_list {
    uint64_t head;              // low 32 bits: first free slot (or EMPTY); high 32 bits: tag (fixed twin only)
    uint32_t initialised;       // 0 → 1 (claiming) → 2 (ready)
    uint32_t next[SLOTS];
    uint32_t owner[SLOTS];      // pid of the copy holding the slot, 0 when free
} shared_list;

static int fixed;

static uint32_t pop(shared_list *list) {
    uint64_t head = __atomic_load_n(&list->head, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t first = (uint32_t)head;
        if (first == EMPTY) return EMPTY;
        uint32_t successor = __atomic_load_n(&list->next[first], __ATOMIC_ACQUIRE);
        // the bug (unless fixed): without a tag, a head that went A → ... → A again looks unchanged here
        uint64_t replacement = fixed ? (((head >> 32) + 1) << 32) | successor : successor;
        if (__atomic_compare_exchange_n(&list->head, &head, replacement, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return first;
    }
}

static void push(shared_list *list, uint32_t slot) {
    uint64_t head = __atomic_load_n(&list->head, __ATOMIC_ACQUIRE);
    for (;;) {
        __atomic_store_n(&list->next[slot], (uint32_t)head, __ATOMIC_RELEASE);
        uint64_t replacement = fixed ? (((head >> 32) + 1) << 32) | slot : slot;
        if (__atomic_compare_exchange_n(&list->head, &head, replacement, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
    }
}

static void initialise_once(shared_list *list) {
    uint32_t state = 0;
    if (__atomic_compare_exchange_n(&list->initialised, &state, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        for (uint32_t k = 0; k < SLOTS; k++) list->next[k] = k + 1 < SLOTS ? k + 1 : EMPTY;
        __atomic_store_n(&list->head, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&list->initialised, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&list->initialised, __ATOMIC_ACQUIRE) != 2) sched_yield();
}

int main(int argc, char **argv) {
    fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 3 + fixed) {
        fprintf(stderr, "usage: race-aba [--fixed] FILE N\n");
        return 64;
    }
    long n = atol(argv[2 + fixed]);
    int fd = open(argv[1 + fixed], O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open"); return 2; }
    shared_list *list = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (list == MAP_FAILED) { perror("mmap"); return 2; }
    initialise_once(list);
    uint32_t me = (uint32_t)getpid();
    for (long i = 0; i < n; i++) {
        uint32_t slot = pop(list);
        // At most 4 copies hold one slot each, so 16 slots never run out unless the list lost some.
        for (int tries = 0; slot == EMPTY && tries < 1000; tries++) {
            sched_yield();
            slot = pop(list);
        }
        if (slot == EMPTY) {
            printf("the free list lost its slots\n");
            return 1;
        }
        uint32_t previous = __atomic_exchange_n(&list->owner[slot], me, __ATOMIC_ACQ_REL);
        if (previous != 0) {
            printf("slot %u owned by two copies (%u and %u)\n", slot, previous, me);
            return 1;
        }
        __atomic_store_n(&list->owner[slot], 0, __ATOMIC_RELEASE);
        push(list, slot);
    }
    return 0;
}

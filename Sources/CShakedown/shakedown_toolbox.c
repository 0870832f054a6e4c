#define _GNU_SOURCE
#include "shakedown_toolbox.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int64_t shakedown_high_water_enter(int64_t *holders, int64_t *high_water) {
    int64_t now = __atomic_add_fetch(holders, 1, __ATOMIC_SEQ_CST);
    int64_t seen = __atomic_load_n(high_water, __ATOMIC_SEQ_CST);
    while (now > seen &&
           !__atomic_compare_exchange_n(high_water, &seen, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        // `seen` was reloaded by the failed exchange; retry while ours is still the higher count.
    }
    return now;
}

int64_t shakedown_high_water_leave(int64_t *holders) {
    return __atomic_sub_fetch(holders, 1, __ATOMIC_SEQ_CST);
}

int shakedown_high_water_leave_held(int64_t *holders, int64_t *unmatched) {
    int64_t seen = __atomic_load_n(holders, __ATOMIC_SEQ_CST);
    while (seen > 0) {
        if (__atomic_compare_exchange_n(holders, &seen, seen - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return 1;
        // `seen` was reloaded by the failed exchange.
    }
    __atomic_add_fetch(unmatched, 1, __ATOMIC_SEQ_CST);
    return 0;
}

void shakedown_high_water_undo_leave(int64_t *holders, int64_t *unmatched, int counted_holder) {
    if (counted_holder) __atomic_add_fetch(holders, 1, __ATOMIC_SEQ_CST);
    else __atomic_sub_fetch(unmatched, 1, __ATOMIC_SEQ_CST);
}

int shakedown_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return CPU_COUNT(&set);
}

int shakedown_socket_pair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

// Tells the parent which step failed and why (a close-on-exec pipe: a successful exec closes it unwritten),
// then leaves. Async-signal-safe.
static void report_and_exit(int error_fd, char step) {
    int failure = errno;
    if (error_fd >= 0) {
        char record[1 + sizeof failure];
        record[0] = step;
        memcpy(record + 1, &failure, sizeof failure);
        (void)write(error_fd, record, sizeof record);
    }
    _exit(127);
}

// Runs in the forked child: only async-signal-safe calls, and nothing that allocates.
static void become_command(const char *path, char *const argv[], char *const envp[], int stdout_fd,
                           int stderr_fd, const char *directory, int error_fd) {
    setpgid(0, 0);
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal != SIGKILL && signal != SIGSTOP) (void)sigaction(signal, &(struct sigaction){.sa_handler = SIG_DFL}, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) { dup2(null_fd, 0); if (null_fd != 0) close(null_fd); }
    // dup2 clears close-on-exec on the copies; the originals are close-on-exec and vanish at exec.
    if (dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) report_and_exit(error_fd, 'd');
    if (directory != NULL && chdir(directory) != 0) report_and_exit(error_fd, 'c');
    if (strchr(path, '/') != NULL) execve(path, argv, envp);
    else execvpe(path, argv, envp);
    report_and_exit(error_fd, 'e');
}

pid_t shakedown_spawn_captured(const char *path, char *const argv[], char *const envp[], int stdout_fd,
                               int stderr_fd, const char *directory) {
    return shakedown_spawn_captured_reporting(path, argv, envp, stdout_fd, stderr_fd, directory, -1);
}

pid_t shakedown_spawn_captured_reporting(const char *path, char *const argv[], char *const envp[], int stdout_fd,
                                         int stderr_fd, const char *directory, int error_fd) {
    pid_t pid = fork();
    if (pid == 0) become_command(path, argv, envp, stdout_fd, stderr_fd, directory, error_fd);
    if (pid > 0) setpgid(pid, pid);  // also from the parent, so a kill(-pid) right after return cannot miss
    return pid;
}

// MARK: queue

#include <time.h>

static uint32_t ring_slots(const shakedown_queue *queue) { return queue->capacity + queue->held_capacity; }

static uint8_t *slot_at(shakedown_queue *queue, uint64_t index) {
    uint8_t *slots = (uint8_t *)(queue + 1);
    return slots + (index % ring_slots(queue)) * (uint64_t)queue->slot_stride;
}

static uint8_t *held_base(shakedown_queue *queue) {
    return (uint8_t *)(queue + 1) + (uint64_t)ring_slots(queue) * queue->slot_stride;
}

shakedown_queue_held *shakedown_queue_held_record(shakedown_queue *queue, uint32_t index) {
    return (shakedown_queue_held *)(held_base(queue) + (uint64_t)index * queue->held_stride);
}

void *shakedown_queue_held_bytes(shakedown_queue *queue, uint32_t index) {
    return (uint8_t *)shakedown_queue_held_record(queue, index) + sizeof(shakedown_queue_held);
}

static uint32_t round16(uint64_t value) { return (uint32_t)((value + 15) & ~(uint64_t)15); }

uint64_t shakedown_queue_size(uint32_t capacity, uint32_t slot_bytes, uint32_t held_capacity) {
    uint64_t slot_stride = round16(4 + (uint64_t)slot_bytes);
    uint64_t held_stride = round16(sizeof(shakedown_queue_held) + (uint64_t)slot_bytes);
    return sizeof(shakedown_queue) + ((uint64_t)capacity + held_capacity) * slot_stride + held_capacity * held_stride;
}

int shakedown_queue_init(shakedown_queue *queue, uint32_t capacity, uint32_t slot_bytes, uint32_t held_capacity) {
    memset(queue, 0, sizeof *queue);
    queue->capacity = capacity;
    queue->slot_bytes = slot_bytes;
    queue->held_capacity = held_capacity;
    queue->slot_stride = round16(4 + (uint64_t)slot_bytes);
    queue->held_stride = round16(sizeof(shakedown_queue_held) + (uint64_t)slot_bytes);
    // Far from zero, so giving held items back (head -= 1) can never wrap; a multiple of the ring keeps slots aligned.
    queue->head = queue->tail = (uint64_t)(capacity + held_capacity) << 20;
    return shakedown_mutex_init(&queue->lock, "queue");
}

static int64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int64_t deadline_after(int64_t timeout_ns) {
    int64_t now = now_ns();
    return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

int shakedown_queue_lock(shakedown_queue *queue) {
    int result = shakedown_mutex_lock(&queue->lock, -1);
    return result >= 0 ? 0 : result;  // an owner that died left indices consistent: see the header
}

void shakedown_queue_unlock(shakedown_queue *queue) { (void)shakedown_mutex_unlock(&queue->lock); }

static void bump_and_wake(uint32_t *word, uint32_t waiters) {
    __atomic_add_fetch(word, 1, __ATOMIC_SEQ_CST);
    if (waiters > 0) (void)shakedown_futex_wake(word, INT32_MAX);
}

/// Sleeps on `word` (whose value under the lock was `seen`) after dropping the lock; relocks. Returns 0, or
/// SHAKEDOWN_QUEUE_TIMED_OUT when `deadline` passed, or -errno.
static int sleep_unlocked(shakedown_queue *queue, uint32_t *word, uint32_t seen, uint32_t *waiters, int64_t deadline) {
    int64_t left = deadline - now_ns();
    if (left <= 0) return SHAKEDOWN_QUEUE_TIMED_OUT;
    *waiters += 1;
    shakedown_queue_unlock(queue);
    (void)shakedown_futex_wait(word, seen, left);
    int locked = shakedown_queue_lock(queue);
    if (locked != 0) return locked;
    *waiters -= 1;
    return 0;
}

int shakedown_queue_put(shakedown_queue *queue, const void *bytes, uint32_t length, int64_t timeout_ns) {
    if (length > queue->slot_bytes) return SHAKEDOWN_QUEUE_TOO_LARGE;
    int64_t deadline = deadline_after(timeout_ns);
    int result = shakedown_queue_lock(queue);
    if (result != 0) return result;
    while (!queue->closed && queue->tail - queue->head >= queue->capacity) {
        uint32_t seen = __atomic_load_n(&queue->space_word, __ATOMIC_SEQ_CST);
        result = sleep_unlocked(queue, &queue->space_word, seen, &queue->put_waiters, deadline);
        if (result == SHAKEDOWN_QUEUE_TIMED_OUT) break;
        if (result != 0) return result;
    }
    if (result == 0 && queue->closed) result = SHAKEDOWN_QUEUE_CLOSED;
    if (result == 0) {
        uint8_t *slot = slot_at(queue, queue->tail);
        memcpy(slot, &length, 4);
        if (length > 0 && bytes != NULL) memcpy(slot + 4, bytes, length);
        queue->puts += 1;
        queue->unfinished += 1;
        queue->tail += 1;  // last: the item exists only once its bytes are in place
        if (queue->tail - queue->head > queue->high_water) queue->high_water = queue->tail - queue->head;
        bump_and_wake(&queue->items_word, queue->get_waiters);
    }
    shakedown_queue_unlock(queue);
    return result;
}

static int hold(shakedown_queue *queue, int32_t holder, const uint8_t *bytes, uint32_t length) {
    for (uint32_t index = 0; index < queue->held_capacity; index++) {
        shakedown_queue_held *record = shakedown_queue_held_record(queue, index);
        if (record->pid != 0) continue;
        memcpy(shakedown_queue_held_bytes(queue, index), bytes, length);
        record->length = length;
        record->sequence = queue->gets;
        record->pid = holder;
        return 1;
    }
    queue->untracked += 1;
    return 0;
}

int shakedown_queue_get(shakedown_queue *queue, void *out, uint32_t out_capacity, uint32_t *length, int64_t timeout_ns,
                        int32_t holder) {
    int64_t deadline = deadline_after(timeout_ns);
    int result = shakedown_queue_lock(queue);
    if (result != 0) return result;
    while (queue->tail == queue->head && !queue->closed) {
        uint32_t seen = __atomic_load_n(&queue->items_word, __ATOMIC_SEQ_CST);
        result = sleep_unlocked(queue, &queue->items_word, seen, &queue->get_waiters, deadline);
        if (result == SHAKEDOWN_QUEUE_TIMED_OUT) break;
        if (result != 0) return result;
    }
    if (result == 0 && queue->tail == queue->head) result = SHAKEDOWN_QUEUE_CLOSED;
    if (result == 0) {
        uint8_t *slot = slot_at(queue, queue->head);
        uint32_t size;
        memcpy(&size, slot, 4);
        if (size > queue->slot_bytes) size = queue->slot_bytes;
        // slot_bytes is shared too: the caller's own buffer size is the bound a scribbled header cannot move.
        if (size > out_capacity) size = out_capacity;
        memcpy(out, slot + 4, size);
        *length = size;
        if (holder > 0) hold(queue, holder, slot + 4, size);
        queue->gets += 1;
        queue->head += 1;
        bump_and_wake(&queue->space_word, queue->put_waiters);
    }
    shakedown_queue_unlock(queue);
    return result;
}

int shakedown_queue_task_done(shakedown_queue *queue, int32_t holder) {
    int result = shakedown_queue_lock(queue);
    if (result != 0) return result;
    shakedown_queue_held *oldest = NULL;
    for (uint32_t index = 0; index < queue->held_capacity; index++) {
        shakedown_queue_held *record = shakedown_queue_held_record(queue, index);
        if (record->pid == holder && (oldest == NULL || record->sequence < oldest->sequence)) oldest = record;
    }
    if (oldest != NULL) {
        oldest->pid = 0;
    } else if (queue->untracked > 0) {
        queue->untracked -= 1;
    } else {
        shakedown_queue_unlock(queue);
        return SHAKEDOWN_QUEUE_NOT_HELD;
    }
    queue->done += 1;
    queue->unfinished -= 1;
    if (queue->unfinished == 0) bump_and_wake(&queue->done_word, queue->join_waiters);
    shakedown_queue_unlock(queue);
    return SHAKEDOWN_QUEUE_OK;
}

int shakedown_queue_wait_done(shakedown_queue *queue, int64_t timeout_ns) {
    int64_t deadline = deadline_after(timeout_ns);
    int result = shakedown_queue_lock(queue);
    if (result != 0) return result;
    if (queue->unfinished > 0) {
        uint32_t seen = __atomic_load_n(&queue->done_word, __ATOMIC_SEQ_CST);
        result = sleep_unlocked(queue, &queue->done_word, seen, &queue->join_waiters, deadline);
        if (result < 0 && result != SHAKEDOWN_QUEUE_TIMED_OUT) return result;
    }
    result = queue->unfinished > 0 ? SHAKEDOWN_QUEUE_TIMED_OUT : 0;
    shakedown_queue_unlock(queue);
    return result;
}

void shakedown_queue_close(shakedown_queue *queue) {
    if (shakedown_queue_lock(queue) != 0) return;
    queue->closed = 1;
    bump_and_wake(&queue->items_word, queue->get_waiters);
    bump_and_wake(&queue->space_word, queue->put_waiters);
    shakedown_queue_unlock(queue);
}

void shakedown_queue_requeue_held_locked(shakedown_queue *queue, uint32_t index) {
    shakedown_queue_held *record = shakedown_queue_held_record(queue, index);
    if (record->pid == 0) return;
    // The record is in memory any process can scribble over: never copy more than a slot holds.
    uint32_t length = record->length > queue->slot_bytes ? queue->slot_bytes : record->length;
    queue->head -= 1;
    uint8_t *slot = slot_at(queue, queue->head);
    memcpy(slot, &length, 4);
    memcpy(slot + 4, shakedown_queue_held_bytes(queue, index), length);
    record->pid = 0;
    // `unfinished` stays as it is: the item was put once and is still not done.
    bump_and_wake(&queue->items_word, queue->get_waiters);
    bump_and_wake(&queue->done_word, queue->join_waiters);
}

#define _GNU_SOURCE
#include "CShakedownBenchmarks.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t bench_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int wait_for(pid_t pid, int *status) {
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR) return -errno;
    }
    return 0;
}

// MARK: fork loop

int64_t bench_fork_loop(int count) {
    int64_t start = bench_now_ns();
    for (int i = 0; i < count; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid < 0) return -errno;
        int status = 0;
        int error = wait_for(pid, &status);
        if (error) return error;
    }
    return bench_now_ns() - start;
}

int64_t bench_fork_batch_loop(int rounds, int batch) {
    if (rounds < 1 || batch < 1 || batch > 1024) return -EINVAL;
    pid_t children[1024];
    int64_t start = bench_now_ns();
    for (int round = 0; round < rounds; round++) {
        int forked = 0;
        int error = 0;
        for (; forked < batch; forked++) {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            if (pid < 0) {
                error = -errno;
                break;
            }
            children[forked] = pid;
        }
        // Reap what was forked even after a failed fork: no zombie outlives the sample.
        for (int i = 0; i < forked; i++) {
            int status = 0;
            int waited = wait_for(children[i], &status);
            if (waited && !error) error = waited;
        }
        if (error) return error;
    }
    return bench_now_ns() - start;
}

// MARK: 2-process spin-then-futex barrier

typedef struct {
    uint32_t parties;
    uint32_t spin_limit;
    uint32_t arrived;     // atomic
    uint32_t generation;  // atomic; the futex word
    uint32_t sleepers;    // atomic
} bench_barrier;

static void bench_barrier_wait(bench_barrier *barrier) {
    uint32_t generation = __atomic_load_n(&barrier->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&barrier->arrived, 1, __ATOMIC_ACQ_REL) == barrier->parties) {
        __atomic_store_n(&barrier->arrived, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&barrier->generation, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&barrier->sleepers, __ATOMIC_SEQ_CST) != 0) {
            syscall(SYS_futex, &barrier->generation, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
        }
        return;
    }
    for (uint32_t spin = 0; spin < barrier->spin_limit; spin++) {
        if (__atomic_load_n(&barrier->generation, __ATOMIC_ACQUIRE) != generation) return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
    }
    __atomic_add_fetch(&barrier->sleepers, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&barrier->generation, __ATOMIC_SEQ_CST) == generation) {
        // Not FUTEX_PRIVATE: the word is shared between processes.
        syscall(SYS_futex, &barrier->generation, FUTEX_WAIT, generation, NULL, NULL, 0);
    }
    __atomic_sub_fetch(&barrier->sleepers, 1, __ATOMIC_SEQ_CST);
}

int64_t bench_barrier_rounds(uint64_t rounds, uint32_t spin_limit) {
    bench_barrier *barrier = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (barrier == MAP_FAILED) return -errno;
    barrier->parties = 2;
    barrier->spin_limit = spin_limit;
    pid_t parent = getpid();
    pid_t children[2] = {0, 0};
    int64_t result = 0;
    int64_t start = bench_now_ns();
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            // A child left alone at the barrier would sleep forever: die with the parent.
            prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            if (getppid() != parent) _exit(70);
            for (uint64_t round = 0; round < rounds; round++) bench_barrier_wait(barrier);
            _exit(0);
        }
        if (pid < 0) {
            result = -errno;
            if (i == 1) kill(children[0], SIGKILL);
            break;
        }
        children[i] = pid;
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        if (children[i] > 0) {
            int error = wait_for(children[i], &status);
            if (error && result == 0) result = error;
            if (result == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) result = -ECHILD;
        }
    }
    if (result == 0) result = bench_now_ns() - start;
    munmap(barrier, 4096);
    return result;
}

// MARK: subprocess

int64_t bench_fork_exec_and_wait(char *const argv[], int count) {
    if (count < 1 || count > 1024) return -EINVAL;
    pid_t children[1024];
    int64_t start = bench_now_ns();
    int forked = 0;
    int64_t result = 0;
    for (; forked < count; forked++) {
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) dup2(null, STDOUT_FILENO);
            execve(argv[0], argv, environ);
            _exit(127);
        }
        if (pid < 0) {
            result = -errno;
            break;
        }
        children[forked] = pid;
    }
    for (int i = 0; i < forked; i++) {
        int status = 0;
        int waited = wait_for(children[i], &status);
        if (waited && result == 0) result = waited;
        if (result == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) result = -ECHILD;
    }
    return result == 0 ? bench_now_ns() - start : result;
}

int64_t bench_spawn_and_wait(char *const argv[], int count) {
    if (count < 1 || count > 1024) return -EINVAL;
    pid_t children[1024];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    int64_t start = bench_now_ns();
    int spawned = 0;
    int64_t result = 0;
    for (; spawned < count; spawned++) {
        int error = posix_spawn(&children[spawned], argv[0], &actions, NULL, argv, environ);
        if (error != 0) {
            result = -error;
            break;
        }
    }
    for (int i = 0; i < spawned; i++) {
        int status = 0;
        int waited = wait_for(children[i], &status);
        if (waited && result == 0) result = waited;
        if (result == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) result = -ECHILD;
    }
    posix_spawn_file_actions_destroy(&actions);
    return result == 0 ? bench_now_ns() - start : result;
}


int bench_run_capturing(char *const argv[], char *output, size_t capacity) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    pid_t pid = 0;
    int error = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (error != 0) {
        close(fds[0]);
        return -error;
    }
    size_t used = 0;
    for (;;) {
        char scratch[512];
        ssize_t got = read(fds[0], scratch, sizeof(scratch));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        size_t keep = (size_t)got;
        if (capacity > 0 && used + keep > capacity - 1) keep = capacity - 1 - used;
        memcpy(output + used, scratch, keep);
        used += keep;
    }
    if (capacity > 0) output[used] = 0;
    close(fds[0]);
    int status = 0;
    int waited = wait_for(pid, &status);
    return waited ? waited : status;
}

// MARK: making the process look like a test process

int bench_allocate_ballast(size_t bytes) {
    char *memory = malloc(bytes);
    if (!memory) return -1;
    long page = sysconf(_SC_PAGESIZE);
    for (size_t offset = 0; offset < bytes; offset += (size_t)page) memory[offset] = (char)offset;
    return 0;  // deliberately kept for the life of the process
}

static void *background_thread(void *unused) {
    (void)unused;
    for (;;) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
        void *scratch = malloc(256);
        if (scratch) memset(scratch, 1, 256);
        free(scratch);
    }
    return NULL;
}

int bench_start_background_threads(int count) {
    int started = 0;
    for (int i = 0; i < count; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, background_thread, NULL) != 0) break;
        pthread_detach(thread);
        started++;
    }
    return started;
}

#ifndef CSHAKEDOWN_BENCHMARKS_H
#define CSHAKEDOWN_BENCHMARKS_H
// Raw C baselines for the benchmarks: what the same work costs with no Swift and no Shakedown in between.

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// CLOCK_MONOTONIC in nanoseconds.
int64_t bench_now_ns(void);

/// `count` times: fork(); the child calls _exit(0) at once; the parent waitpid()s it.
/// Returns the elapsed nanoseconds for the whole loop, or -errno when a fork or wait fails.
int64_t bench_fork_loop(int count);

/// `rounds` times: fork `batch` children (each calls _exit(0) at once), then waitpid each of them. Overlapping the
/// children's exits with the next forks is what a runner that starts N processes together gets; a serial
/// fork/wait loop pays one wake-up latency per child instead. Returns the elapsed nanoseconds for all rounds, or
/// -errno (`batch` must be within 1...1024).
int64_t bench_fork_batch_loop(int rounds, int batch);

/// Forks 2 processes that pass a spin-then-futex barrier `rounds` times (an empty round body), in anonymous
/// MAP_SHARED memory; the caller only waits for them. A waiter spins `spin_limit` pause iterations, then sleeps
/// on a futex. Returns nanoseconds from the first fork to the second reap, or -errno on failure.
int64_t bench_barrier_rounds(uint64_t rounds, uint32_t spin_limit);

/// Runs `argv` (argv[0] looked up in PATH) with stdout captured into `output` (NUL-terminated, truncated to
/// `capacity - 1` bytes); stderr is inherited. Returns the wait status, or -errno when it could not be started.
int bench_run_capturing(char *const _Nullable argv[_Nonnull], char *output, size_t capacity);

/// Starts `count` copies of `argv` (argv[0] is a path, not looked up) with posix_spawn, stdout to /dev/null, then
/// waits for each. Returns the elapsed nanoseconds from the first spawn to the last reap, -errno when a spawn or
/// wait failed, or -ECHILD when a copy did not exit 0 (`count` must be within 1...1024).
int64_t bench_spawn_and_wait(char *const _Nullable argv[_Nonnull], int count);

/// The same with fork + execve instead of posix_spawn (whose clone shares the address space, CLONE_VM|CLONE_VFORK,
/// so it copies no page tables): what starting a command costs when the starter is forked in full first.
int64_t bench_fork_exec_and_wait(char *const _Nullable argv[_Nonnull], int count);

/// Touches `bytes` of freshly allocated heap (one write per page) and never frees it: ballast that makes the
/// benchmark process resemble a test process whose page tables fork has to copy. Returns 0, or -1.
int bench_allocate_ballast(size_t bytes);

/// Starts `count` detached threads that wake every 20 ms, malloc and free a little, and sleep again: like a
/// test process's runtime threads, present but mostly idle. Returns how many were started.
int bench_start_background_threads(int count);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif
#endif

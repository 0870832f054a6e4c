#ifndef SHAKEDOWN_TRACE_H
#define SHAKEDOWN_TRACE_H
#include "shakedown_platform.h"
// ptrace and libunwind-ptrace wrappers for hang capture (see shakedown_trace.c).
// ptrace(2) is variadic and libunwind's API is macros: Swift can call neither directly.

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: ptrace

/// ptrace(PTRACE_SEIZE, tid, 0, 0): attaches without stopping the thread. Returns 0 or -1 with errno.
int shakedown_ptrace_seize(pid_t tid);
/// ptrace(PTRACE_INTERRUPT, tid): asks a seized thread to enter a trap stop. Returns 0 or -1 with errno.
int shakedown_ptrace_interrupt(pid_t tid);
/// ptrace(PTRACE_DETACH, tid, 0, 0): resumes a stopped tracee and stops tracing it. Returns 0 or -1 with errno.
int shakedown_ptrace_detach(pid_t tid);

/// Outcome of shakedown_poll_stop.
enum {
    SHAKEDOWN_STOP_PENDING = 0,  ///< no stop reported yet
    SHAKEDOWN_STOP_STOPPED = 1,  ///< the thread is in a ptrace stop; *status holds the wait status
    SHAKEDOWN_STOP_GONE = 2,     ///< the thread no longer exists (ECHILD/ESRCH)
};

/// Looks once, without blocking, for a ptrace stop of `tid`:
/// waitid(P_PID, tid, WSTOPPED | __WALL | WNOHANG). WEXITED is deliberately not passed, so an exit status
/// of the caller's own child is never reaped here (it belongs to whoever started that child).
/// Returns SHAKEDOWN_STOP_*; -1 with errno on any other failure.
int shakedown_poll_stop(pid_t tid, int *status);

// MARK: remote unwinding (libunwind-ptrace)

/// An unwinder for one traced process: one libunwind address space (with its caches) shared by all threads.
typedef struct shakedown_unwinder shakedown_unwinder;

/// unw_create_addr_space(&_UPT_accessors, 0) with global caching. Returns NULL when libunwind fails.
shakedown_unwinder *shakedown_unwinder_create(void);
void shakedown_unwinder_destroy(shakedown_unwinder *unwinder);

/// Why unwinding of a thread ended (shakedown_unwind_result.stop_stage).
enum {
    SHAKEDOWN_UNWIND_COMPLETE = 0,         ///< unw_step returned 0: the outermost frame was reached
    SHAKEDOWN_UNWIND_FRAME_LIMIT = 1,      ///< stopped at the walk limit; more frames may exist
    SHAKEDOWN_UNWIND_CREATE_FAILED = 2,    ///< _UPT_create failed (out of memory)
    SHAKEDOWN_UNWIND_INIT_FAILED = 3,      ///< unw_init_remote failed; code holds the unw error
    SHAKEDOWN_UNWIND_STEP_FAILED = 4,      ///< unw_step returned < 0; code holds it
    SHAKEDOWN_UNWIND_REGISTER_FAILED = 5,  ///< unw_get_reg(UNW_REG_IP) failed; code holds it
};

typedef struct shakedown_unwind_result {
    int32_t frame_count;  ///< frames written to `ips`
    int32_t frames_cut;   ///< frames walked past `capacity` and not stored
    int32_t stop_stage;   ///< SHAKEDOWN_UNWIND_*
    int32_t stop_code;    ///< the libunwind error (negative UNW_E*), 0 if none
} shakedown_unwind_result;

/// Walks the stack of the stopped tracee `tid`: stores up to `capacity` instruction pointers in `ips`
/// (innermost first), then keeps stepping without storing (at most `walk_limit` frames in all) to count
/// the frames cut. When `names` is not NULL, also asks unw_get_proc_name for each stored frame: the name
/// goes to `names + index * name_length` (empty string if unknown) and the offset into that function to
/// `name_offsets[index]`. The caller must be the thread that seized `tid`. Always fills `result`.
void shakedown_unwind(shakedown_unwinder *unwinder, pid_t tid, uint64_t *ips, int32_t capacity, int32_t walk_limit,
                      char *names, size_t name_length, uint64_t *name_offsets, shakedown_unwind_result *result);

/// unw_strerror: a static description of a libunwind error code.
const char *shakedown_unwind_error_string(int32_t code);
/// The symbolic name of a libunwind error code ("UNW_EBADFRAME"), or "UNW_E?" if unknown.
const char *shakedown_unwind_error_name(int32_t code);

// MARK: helper processes (shakedown_spawn.c)

/// Starts `path` like posix_spawn, but the child gets PR_SET_PDEATHSIG(SIGKILL) before exec (and exits if the
/// parent is already gone), so it dies with the calling *thread*: call it from a thread that lives as long as the
/// helper is needed (the main thread). `stdin_fd`/`stdout_fd`/`stderr_fd` become 0/1/2; -1 means /dev/null.
/// The signal mask is cleared in the child. Returns 0 and the pid in `*pid_out`, or the errno of pipe2, fork,
/// prctl, dup2 or execve (the failed child is reaped).
int shakedown_spawn_tied(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                         int stderr_fd, pid_t *pid_out);

#ifdef __cplusplus
}
#endif
#endif

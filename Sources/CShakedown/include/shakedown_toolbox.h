#ifndef SHAKEDOWN_TOOLBOX_H
#define SHAKEDOWN_TOOLBOX_H
// C helpers for the multiprocessing toolbox (Sources/Shakedown/Toolbox): what Swift cannot call directly.

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// Counts one more holder in `*holders` and raises `*high_water` to the new count if it is higher.
/// Both live in shared memory; returns the new holder count.
int64_t shakedown_high_water_enter(int64_t *holders, int64_t *high_water);
/// Counts one holder less. Returns the new holder count.
int64_t shakedown_high_water_leave(int64_t *holders);

/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC). Returns 0 or -1 with errno.
int shakedown_socket_pair(int fds[2]);

/// fork(2) + execve(2) for a captured command: the child makes only async-signal-safe calls. It becomes the
/// leader of a new process group (so a timeout can kill the command's whole tree with one kill(-pid)), points
/// stdin at /dev/null, stdout at `stdout_fd` and stderr at `stderr_fd`, changes to `directory` when it is not
/// NULL, resets the signal mask and dispositions, and leaves with _exit(127) when exec fails.
/// `path` is searched in PATH when it has no slash. Returns the pid, or -1 with errno.
pid_t shakedown_spawn_captured(const char *path, char *_Nullable const argv[_Nonnull],
                               char *_Nullable const envp[_Nonnull], int stdout_fd, int stderr_fd,
                               const char *_Nullable directory);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif
#endif

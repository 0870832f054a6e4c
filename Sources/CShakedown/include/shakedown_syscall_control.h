#ifndef SHAKEDOWN_SYSCALL_CONTROL_H
#define SHAKEDOWN_SYSCALL_CONTROL_H
#include "shakedown_platform.h"

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

// MARK: syscalls mode: seccomp user notification on the calls through which processes interact

/// In a child after fork, before exec: sets no_new_privs and installs a seccomp filter that turns each of the
/// `count` system call numbers into a user notification. Returns the listener descriptor (close-on-exec), or -1 with
/// errno. Async-signal-safe (raw syscalls only), so it may run between fork and exec of a threaded parent.
int shakedown_seccomp_install_listener(const int *syscalls, int count);

/// Sends descriptor `fd` over the unix socket `socket` (SCM_RIGHTS). Returns 0 or -1 with errno. Async-signal-safe.
int shakedown_send_descriptor(int socket, int fd);
/// Receives a descriptor sent with shakedown_send_descriptor. Returns it (close-on-exec), or -1 with errno
/// (ECONNRESET when the peer closed without sending).
int shakedown_receive_descriptor(int socket);

/// fork + install the filter in the child + hand its listener to the parent + execve. Returns the child's pid and
/// stores the listener in *listener, or returns -1 with errno (the child, if any, is reaped).
pid_t shakedown_spawn_controlled(const char *path, char *_Nullable const argv[_Nonnull],
                                 char *_Nullable const envp[_Nonnull], const int *syscalls, int count,
                                 int *listener);

/// Receives one pending notification from `listener`. Returns 0 and fills id, system call number and thread id;
/// -1 with errno (ENOENT: the caller died before it could be received).
int shakedown_notify_receive(int listener, uint64_t *id, int *syscall_number, int *tid);
/// Lets the notified call go on in the kernel as if never stopped (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Returns 0,
/// or -1 with errno (ENOENT: the caller died or was interrupted meanwhile).
int shakedown_notify_continue(int listener, uint64_t id);

/// System call numbers by name for this architecture, or -1 when it has no such call.
int shakedown_syscall_number(const char *name);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif

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

/// Whether notification `id` still waits for an answer (SECCOMP_IOCTL_NOTIF_ID_VALID): 0 yes; -1 with errno
/// (ENOENT: its caller died, or a signal interrupted the call, which the caller then makes again).
int shakedown_notify_id_valid(int listener, uint64_t id);

/// Asks the kernel for synchronous wake-ups on `listener` (SECCOMP_IOCTL_NOTIF_SET_FLAGS with
/// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, Linux 6.6+): a notification wakes the supervisor, and an answer wakes the
/// caller, on the waking thread's own processor, so a round trip needs no wake-up of another (possibly halted)
/// processor. Changes only where the woken thread runs, never what is notified. Returns 0, or -1 with errno
/// (EINVAL or ENOTTY on an older kernel: the listener works as before).
int shakedown_notify_sync_wakeup(int listener);

/// System call numbers by name for this architecture, or -1 when it has no such call.
int shakedown_syscall_number(const char *name);


// MARK: syscalls and pct modes in runs: the filter goes in where each copy starts, the listener to the run leader

/// Sets (count 1...64) or clears (count 0) what ``shakedown_syscall_control_enter`` installs: the controlled system
/// call numbers and the leader's registration socket (a unix datagram socket). Called in the run leader before it
/// forks the workers, so every worker, shepherd and spawned command inherits it. Returns 0, or -1 with EINVAL.
int shakedown_syscall_control_configure(int socket, const int *_Nullable syscalls, int count);
/// Whether a configuration is set.
int shakedown_syscall_control_configured(void);

/// Where a copy starts (a closure worker after fork, with `exec_child` 0; a shepherd's spawned child right before
/// execve, with `exec_child` 1): when configured, sets no_new_privs, installs the filter and sends the listener with
/// the worker's pid (the shepherd's for an exec child) and this process's pid to the registration socket. On
/// failure it sends the errno instead, so the leader knows this copy runs uncontrolled, and returns 0. Returns the
/// errno only when the filter is in but its listener could not be sent: then every controlled call would fail with
/// ENOSYS, so the copy must not run. Raw system calls only (async-signal-safe; safe in a CLONE_VM child).
int shakedown_syscall_control_enter(int exec_child);

/// Receives one registration from the leader's socket, waiting at most `timeout_ms`. Returns 1 and fills
/// worker_pid, pid and either *listener (close-on-exec) with *error 0, or *listener -1 with the copy's errno; 0 on
/// timeout; -1 with errno.
int shakedown_syscall_control_receive(int socket, int timeout_ms, int *worker_pid, int *pid, int *listener,
                                      int *error);

/// Whether this kernel offers seccomp user notification: 1 yes, 0 no (`/proc/sys/kernel/seccomp/actions_avail`
/// lacks user_notif, or no seccomp at all).
int shakedown_seccomp_user_notif_available(void);
/// Installs a listener filter in a short-lived child (fork, raw system calls, exit): 0 when it works, else the errno
/// (a sandbox that forbids seccomp or no_new_privs). Cached per process.
int shakedown_seccomp_listener_probe(void);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif

#define _GNU_SOURCE
#include "shakedown_syscall_control.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONTROLLED 64

int shakedown_seccomp_install_listener(const int *syscalls, int count) {
    if (count < 1 || count > MAX_CONTROLLED) {
        errno = EINVAL;
        return -1;
    }
    // Load arch; anything but this architecture's calls passes. Load the number; each match notifies.
    struct sock_filter program[4 + MAX_CONTROLLED + 2];
    int n = 0;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
#if defined(__x86_64__)
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
#elif defined(__aarch64__)
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 1, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (int i = 0; i < count; i++) {
        // Jump to the notify return (after the remaining tests and the allow).
        program[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)syscalls[i],
                                                  (uint8_t)(count - i), 0);
        n++;
    }
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    program[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
    struct sock_fprog fprog = {(unsigned short)n, program};
    if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    // Once the scheduler has received a call, only a fatal signal may end its wait (WAIT_KILLABLE_RECV, Linux 5.19+).
    // Without it a signal that arrives as the scheduler replies loses the reply: the kernel sees the interrupted wait,
    // restarts the call and notifies it again, and the CONTINUE that was accepted is recorded for a call that ran
    // once (SyscallRunTests.testSignalsInterruptingParkedCallsAreNotCountedAsReleases counted 61 of 60 pwrites in 2
    // of 40 runs). A signal that comes before the scheduler received the call still withdraws it, as before; an
    // older kernel refuses the flag (EINVAL) and the filter goes in without it.
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &fprog);
    if (fd < 0 && errno == EINVAL)
        fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
    if (fd < 0) return -1;
    // The kernel makes the listener close-on-exec already; no fcntl here: fcntl is controlled now, and nobody is
    // listening yet.
    return (int)fd;
}

// One datagram of `length` bytes, with `fd` attached (SCM_RIGHTS) unless it is negative. Raw sendmsg, no
// allocation: it also runs in the spawn child between clone and execve. Returns the bytes sent, or -1.
static long send_with_descriptor(int socket, void *data, size_t length, int fd) {
    struct iovec vector = {data, length};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    if (fd >= 0) {
        message.msg_control = control.buffer;
        message.msg_controllen = sizeof control.buffer;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &fd, sizeof(int));
    }
    long sent;
    do {
        sent = syscall(SYS_sendmsg, socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

int shakedown_send_descriptor(int socket, int fd) {
    char byte = 'L';
    return send_with_descriptor(socket, &byte, 1, fd) == 1 ? 0 : -1;
}

int shakedown_receive_descriptor(int socket) {
    char byte;
    struct iovec vector = {&byte, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {0};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    ssize_t received;
    do {
        received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received <= 0) {
        if (received == 0) errno = ECONNRESET;
        return -1;
    }
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_type != SCM_RIGHTS) {
        errno = EPROTO;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return fd;
}

pid_t shakedown_spawn_controlled(const char *path, char *const argv[], char *const envp[], const int *syscalls,
                                 int count, int *listener) {
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(sockets[0]);
        close(sockets[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        syscall(SYS_close, sockets[0]);
        int fd = shakedown_seccomp_install_listener(syscalls, count);
        if (fd < 0 || shakedown_send_descriptor(sockets[1], fd) != 0) syscall(SYS_exit_group, 127);
        syscall(SYS_close, fd);
        syscall(SYS_close, sockets[1]);
        syscall(SYS_execve, path, argv, envp);
        syscall(SYS_exit_group, 127);
    }
    close(sockets[1]);
    int fd = shakedown_receive_descriptor(sockets[0]);
    int saved = errno;
    close(sockets[0]);
    if (fd < 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = saved;
        return -1;
    }
    *listener = fd;
    return pid;
}

int shakedown_notify_receive(int listener, uint64_t *id, int *syscall_number, int *tid) {
    struct seccomp_notif notification;
    memset(&notification, 0, sizeof notification);  // the kernel rejects a dirty buffer
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &notification) != 0) return -1;
    *id = notification.id;
    *syscall_number = notification.data.nr;
    *tid = (int)notification.pid;
    return 0;
}

int shakedown_notify_continue(int listener, uint64_t id) {
    struct seccomp_notif_resp response;
    memset(&response, 0, sizeof response);
    response.id = id;
    response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response);
}

int shakedown_notify_id_valid(int listener, uint64_t id) {
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 ? 0 : -1;
}

// Not in every installed linux/seccomp.h yet (added in Linux 6.6); the values are the kernel's ABI.
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

int shakedown_notify_sync_wakeup(int listener) {
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (__u64)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0 ? 0 : -1;
}

int shakedown_syscall_number(const char *name) {
    static const struct { const char *name; int number; } table[] = {
        {"read", SYS_read}, {"write", SYS_write}, {"pread64", SYS_pread64}, {"pwrite64", SYS_pwrite64},
        {"readv", SYS_readv}, {"writev", SYS_writev}, {"lseek", SYS_lseek}, {"fsync", SYS_fsync},
        {"fdatasync", SYS_fdatasync}, {"flock", SYS_flock}, {"fcntl", SYS_fcntl}, {"openat", SYS_openat},
        {"renameat", SYS_renameat}, {"renameat2", SYS_renameat2}, {"unlinkat", SYS_unlinkat},
        {"faccessat", SYS_faccessat}, {"faccessat2", SYS_faccessat2}, {"newfstatat", SYS_newfstatat},
        {"ftruncate", SYS_ftruncate}, {"seccomp", SYS_seccomp}, {"getppid", SYS_getppid},
        {"sched_yield", SYS_sched_yield},
#ifdef SYS_open
        {"open", SYS_open}, {"rename", SYS_rename}, {"unlink", SYS_unlink}, {"access", SYS_access},
        {"stat", SYS_stat},
#endif
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].number;
    return -1;
}

// MARK: runs

// Written once by the run leader before it forks; read by workers, shepherds and their CLONE_VM children.
static struct {
    int socket;
    int count;
    int numbers[MAX_CONTROLLED];
} run_control = {-1, 0, {0}};

int shakedown_syscall_control_configure(int socket, const int *syscalls, int count) {
    if (count < 0 || count > MAX_CONTROLLED || (count > 0 && (socket < 0 || syscalls == NULL))) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < count; i++) run_control.numbers[i] = syscalls[i];
    run_control.socket = count > 0 ? socket : -1;
    run_control.count = count;
    return 0;
}

int shakedown_syscall_control_configured(void) { return run_control.count > 0; }

// One registration: who, and either the listener (SCM_RIGHTS) or the errno of the failed installation.
struct registration {
    int32_t worker_pid;
    int32_t pid;
    int32_t error;
};

static int send_registration(int socket, struct registration record, int fd) {
    return send_with_descriptor(socket, &record, sizeof record, fd) == (long)sizeof record ? 0 : -1;
}

int shakedown_syscall_control_enter(int exec_child) {
    if (run_control.count <= 0) return 0;
    struct registration record;
    record.pid = (int32_t)syscall(SYS_getpid);
    record.worker_pid = exec_child ? (int32_t)syscall(SYS_getppid) : record.pid;
    record.error = 0;
    int fd = shakedown_seccomp_install_listener(run_control.numbers, run_control.count);
    if (fd < 0) {
        // No filter went in: the copy runs uncontrolled, and the leader says so.
        record.error = errno != 0 ? errno : EINVAL;
        send_registration(run_control.socket, record, -1);
        return 0;
    }
    int sent = send_registration(run_control.socket, record, fd);
    int error = sent == 0 ? 0 : (errno != 0 ? errno : EIO);
    // Our copy is not needed: the leader holds the listener now. When the send failed nobody does, and the kernel
    // fails every controlled call with ENOSYS: the copy must not run (the caller reports the errno).
    syscall(SYS_close, fd);
    return error;
}

int shakedown_syscall_control_receive(int socket, int timeout_ms, int *worker_pid, int *pid, int *listener,
                                      int *error) {
    struct pollfd ready = {socket, POLLIN, 0};
    int polled = poll(&ready, 1, timeout_ms);
    if (polled < 0) return -1;
    if (polled == 0) return 0;
    struct registration record;
    struct iovec vector = {&record, sizeof record};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    ssize_t received;
    do {
        received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    int fd = -1;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
        memcpy(&fd, CMSG_DATA(header), sizeof(int));
    }
    if (received != (ssize_t)sizeof record) {
        if (fd >= 0) close(fd);
        errno = EPROTO;
        return -1;
    }
    *worker_pid = record.worker_pid;
    *pid = record.pid;
    *error = record.error;
    *listener = record.error == 0 ? fd : -1;
    if (record.error != 0 && fd >= 0) close(fd);
    if (record.error == 0 && fd < 0) *error = EPROTO;
    return 1;
}

int shakedown_seccomp_user_notif_available(void) {
    int fd = open("/proc/sys/kernel/seccomp/actions_avail", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[512];
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0) return 0;
    text[length] = 0;
    return strstr(text, "user_notif") != NULL;
}

int shakedown_seccomp_listener_probe(void) {
    // One probe per process (a fork of a large test process costs most of a millisecond); a forked child probes
    // again, since it may run under a filter its parent does not have.
    static pid_t probed_in = 0;
    static int result = 0;
    pid_t self = getpid();
    if (probed_in == self) return result;
    pid_t child = fork();
    if (child < 0) return errno;
    if (child == 0) {
        int number = SYS_getppid;
        int fd = shakedown_seccomp_install_listener(&number, 1);
        syscall(SYS_exit_group, fd < 0 ? (errno & 0xFF ? errno & 0xFF : EINVAL) : 0);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return errno;
    }
    result = WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
    probed_in = self;
    return result;
}

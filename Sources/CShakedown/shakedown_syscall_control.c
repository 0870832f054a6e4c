#define _GNU_SOURCE
#include "shakedown_syscall_control.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
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
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
    if (fd < 0) return -1;
    // The kernel makes the listener close-on-exec already; no fcntl here: fcntl is controlled now, and nobody is
    // listening yet.
    return (int)fd;
}

int shakedown_send_descriptor(int socket, int fd) {
    char byte = 'L';
    struct iovec vector = {&byte, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    long sent;
    do {
        sent = syscall(SYS_sendmsg, socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
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

int shakedown_syscall_number(const char *name) {
    static const struct { const char *name; int number; } table[] = {
        {"read", SYS_read}, {"write", SYS_write}, {"pread64", SYS_pread64}, {"pwrite64", SYS_pwrite64},
        {"readv", SYS_readv}, {"writev", SYS_writev}, {"lseek", SYS_lseek}, {"fsync", SYS_fsync},
        {"fdatasync", SYS_fdatasync}, {"flock", SYS_flock}, {"fcntl", SYS_fcntl}, {"openat", SYS_openat},
        {"renameat", SYS_renameat}, {"renameat2", SYS_renameat2}, {"unlinkat", SYS_unlinkat},
        {"faccessat", SYS_faccessat}, {"faccessat2", SYS_faccessat2}, {"newfstatat", SYS_newfstatat},
        {"ftruncate", SYS_ftruncate},
#ifdef SYS_open
        {"open", SYS_open}, {"rename", SYS_rename}, {"unlink", SYS_unlink}, {"access", SYS_access},
        {"stat", SYS_stat},
#endif
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].number;
    return -1;
}

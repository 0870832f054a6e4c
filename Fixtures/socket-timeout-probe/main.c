// Whether a socket's own timeout survives preemption. A blocking call on a socket with SO_RCVTIMEO or SO_SNDTIMEO
// fails with EINTR after any signal handler ran, SA_RESTART or not (signal(7)), so the preload library's timer made
// a recv with a 100 ms timeout return EINTR within microseconds (and Rust's read_exact, which retries EINTR with the
// whole timeout again, never time out).
//
// `socket-timeout-probe` waits on sockets that never become ready, each with a 100 ms timeout: recv, read, recvfrom
// and recvmsg on a socketpair end with SO_RCVTIMEO; send on one with SO_SNDTIMEO and a full buffer; accept on a
// listening socket with SO_RCVTIMEO; recv on a socket that accept returned from it (it inherits the timeout). Prints
// "CALL errno=NAME ms=N" per call; exit 0 when every call failed with EAGAIN after at least 100 ms, 1 when one did
// not, 2 on another failure. No Shakedown code in here.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

static int set_timeout(int fd, int option) {
    struct timeval timeout = {0, 100000};
    return setsockopt(fd, SOL_SOCKET, option, &timeout, sizeof timeout);
}

// Judges one call that must time out: -1 with EAGAIN (EWOULDBLOCK) after the whole 100 ms.
static int judge(const char *call, ssize_t result, int error, double started) {
    double waited = now_ms() - started;
    int ok = result < 0 && (error == EAGAIN || error == EWOULDBLOCK) && waited >= 99.0;
    printf("%s errno=%s ms=%.0f%s\n", call, result < 0 ? strerrorname_np(error) : "none", waited, ok ? "" : " FAILED");
    return ok ? 0 : 1;
}

#define PROBE(name, call)                                                                                          \
    do {                                                                                                           \
        double started = now_ms();                                                                                 \
        ssize_t result = (call);                                                                                   \
        failures += judge(name, result, errno, started);                                                           \
    } while (0)

int main(void) {
    int failures = 0;
    char buffer[64];
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0 || set_timeout(pair[0], SO_RCVTIMEO) != 0) return 2;
    PROBE("recv", recv(pair[0], buffer, sizeof buffer, 0));
    PROBE("read", read(pair[0], buffer, sizeof buffer));
    PROBE("recvfrom", recvfrom(pair[0], buffer, sizeof buffer, 0, 0, 0));
    struct iovec vector = {buffer, sizeof buffer};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1};
    PROBE("recvmsg", recvmsg(pair[0], &message, 0));

    if (set_timeout(pair[1], SO_SNDTIMEO) != 0) return 2;
    static char block[65536];
    while (send(pair[1], block, sizeof block, MSG_DONTWAIT) > 0) {}
    PROBE("send", send(pair[1], block, sizeof block, 0));

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0 || set_timeout(listener, SO_RCVTIMEO) != 0)
        return 2;
    PROBE("accept", accept(listener, 0, 0));
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof address) != 0) return 2;
    int accepted = accept(listener, 0, 0);
    if (accepted < 0) return perror("accept"), 2;
    PROBE("recv-accepted", recv(accepted, buffer, sizeof buffer, 0));
    return failures ? 1 : 0;
}

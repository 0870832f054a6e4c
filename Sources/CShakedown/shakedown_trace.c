#define _GNU_SOURCE
#include "shakedown_trace.h"

#include <errno.h>
#include <libunwind-ptrace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

// MARK: ptrace

int shakedown_ptrace_seize(pid_t tid) {
    // No PTRACE_O_EXITKILL: if the inspector dies, the target must live on.
    return (int)ptrace(PTRACE_SEIZE, tid, NULL, NULL);
}

int shakedown_ptrace_interrupt(pid_t tid) {
    return (int)ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
}

int shakedown_ptrace_detach(pid_t tid) {
    return (int)ptrace(PTRACE_DETACH, tid, NULL, NULL);
}

int shakedown_poll_stop(pid_t tid, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int result;
    do {
        result = waitid(P_PID, (id_t)tid, &info, WSTOPPED | __WALL | WNOHANG);
    } while (result == -1 && errno == EINTR);
    if (result == -1) {
        if (errno == ECHILD || errno == ESRCH) return SHAKEDOWN_STOP_GONE;
        return -1;
    }
    if (info.si_pid == 0) return SHAKEDOWN_STOP_PENDING;
    if (status) *status = info.si_status;
    return SHAKEDOWN_STOP_STOPPED;
}

// MARK: remote unwinding

struct shakedown_unwinder {
    unw_addr_space_t address_space;
};

shakedown_unwinder *shakedown_unwinder_create(void) {
    shakedown_unwinder *unwinder = calloc(1, sizeof(*unwinder));
    if (!unwinder) return NULL;
    // _UPT_accessors is a mutable global; it stays on this side so Swift never touches it.
    unwinder->address_space = unw_create_addr_space(&_UPT_accessors, 0);
    if (!unwinder->address_space) {
        free(unwinder);
        return NULL;
    }
    // All threads of one process share code and unwind tables: cache them across the walks.
    unw_set_caching_policy(unwinder->address_space, UNW_CACHE_GLOBAL);
    return unwinder;
}

void shakedown_unwinder_destroy(shakedown_unwinder *unwinder) {
    if (!unwinder) return;
    unw_destroy_addr_space(unwinder->address_space);
    free(unwinder);
}

void shakedown_unwind(shakedown_unwinder *unwinder, pid_t tid, uint64_t *ips, int32_t capacity, int32_t walk_limit,
                      char *names, size_t name_length, uint64_t *name_offsets, shakedown_unwind_result *result) {
    memset(result, 0, sizeof(*result));
    void *context = _UPT_create(tid);
    if (!context) {
        result->stop_stage = SHAKEDOWN_UNWIND_CREATE_FAILED;
        return;
    }
    unw_cursor_t cursor;
    int code = unw_init_remote(&cursor, unwinder->address_space, context);
    if (code < 0) {
        result->stop_stage = SHAKEDOWN_UNWIND_INIT_FAILED;
        result->stop_code = code;
        _UPT_destroy(context);
        return;
    }
    int32_t walked = 0;
    for (;;) {
        unw_word_t ip = 0;
        code = unw_get_reg(&cursor, UNW_REG_IP, &ip);
        if (code < 0) {
            result->stop_stage = SHAKEDOWN_UNWIND_REGISTER_FAILED;
            result->stop_code = code;
            break;
        }
        if (walked < capacity) {
            ips[walked] = (uint64_t)ip;
            if (names && name_length > 0) {
                char *name = names + (size_t)walked * name_length;
                unw_word_t offset = 0;
                if (unw_get_proc_name(&cursor, name, name_length, &offset) < 0) name[0] = '\0';
                if (name_offsets) name_offsets[walked] = (uint64_t)offset;
            }
            result->frame_count = walked + 1;
        } else {
            result->frames_cut++;
        }
        walked++;
        if (walked >= walk_limit) {
            result->stop_stage = SHAKEDOWN_UNWIND_FRAME_LIMIT;
            break;
        }
        code = unw_step(&cursor);
        if (code == 0) break;
        if (code < 0) {
            result->stop_stage = SHAKEDOWN_UNWIND_STEP_FAILED;
            result->stop_code = code;
            break;
        }
    }
    _UPT_destroy(context);
}

const char *shakedown_unwind_error_string(int32_t code) {
    return unw_strerror(code);
}

const char *shakedown_unwind_error_name(int32_t code) {
    switch (-code) {
    case UNW_EUNSPEC: return "UNW_EUNSPEC";
    case UNW_ENOMEM: return "UNW_ENOMEM";
    case UNW_EBADREG: return "UNW_EBADREG";
    case UNW_EREADONLYREG: return "UNW_EREADONLYREG";
    case UNW_ESTOPUNWIND: return "UNW_ESTOPUNWIND";
    case UNW_EINVALIDIP: return "UNW_EINVALIDIP";
    case UNW_EBADFRAME: return "UNW_EBADFRAME";
    case UNW_EINVAL: return "UNW_EINVAL";
    case UNW_EBADVERSION: return "UNW_EBADVERSION";
    case UNW_ENOINFO: return "UNW_ENOINFO";
    default: return "UNW_E?";
    }
}

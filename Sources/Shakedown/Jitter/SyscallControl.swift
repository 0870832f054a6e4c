#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// The `syscalls` mode's process side: which system calls are controlled, and how a command is started under a
/// seccomp filter whose notifications a ``SyscallScheduler`` answers.
///
/// A controlled call stops in the kernel until the scheduler lets it go on unchanged
/// (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the call's semantics are untouched, only its timing is decided. Needs
/// `no_new_privs` (set in the child; a set-uid command then runs without its privileges) and a kernel with seccomp
/// user notification (Linux 5.5+ for CONTINUE).
package enum SyscallControl {
    /// The calls through which processes interact with files and each other: the read/write family, seeks, syncs,
    /// locks, opens, renames, unlinks and existence checks; and `sched_yield`, which is what a jitter point does in
    /// the `syscalls` and `pct` modes, so every acting point is a scheduling decision too (and a copy spinning
    /// with `sched_yield` parks instead of burning the bounded wait).
    package static let defaultSyscalls = [
        "read", "write", "pread64", "pwrite64", "readv", "writev", "lseek", "fsync", "fdatasync", "flock", "fcntl",
        "openat", "renameat", "renameat2", "unlinkat", "faccessat", "faccessat2", "ftruncate",
        "open", "rename", "unlink", "access", "sched_yield",
    ]

    /// The numbers of `names` on this architecture; names it does not have are left out.
    package static func numbers(_ names: [String]) -> [CInt] {
        names.map { shakedown_syscall_number($0) }.filter { $0 >= 0 }
    }

    /// Starts `arguments[0]` (a path) with `environment` under a filter on `syscalls`, and returns its pid and the
    /// listener descriptor the scheduler needs.
    /// - Throws: `.systemCall("spawn under seccomp")` with errno when fork, the filter or the handover failed.
    package static func spawn(_ arguments: [String], environment: [String],
                              syscalls: [String] = defaultSyscalls) throws(ShakedownError) -> (pid: pid_t, listener: CInt) {
        guard let path = arguments.first else { throw .invalidArgument("arguments", "must name an executable") }
        let numbers = self.numbers(syscalls)
        guard !numbers.isEmpty, numbers.count <= 64 else {
            throw .invalidArgument("syscalls", "must name 1...64 system calls of this architecture")
        }
        var listener: CInt = -1
        let pid = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                numbers.withUnsafeBufferPointer { list -> pid_t in
                    guard let base = list.baseAddress else { return -1 }
                    return shakedown_spawn_controlled(path, argv, envp, base, CInt(list.count), &listener)
                }
            }
        }
        guard pid > 0 else { throw .systemCall("spawn under seccomp") }
        return (pid, listener)
    }
}

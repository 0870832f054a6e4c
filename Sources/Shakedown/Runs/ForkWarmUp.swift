#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// First-time work done once in the test process so that the run leader and every worker, fresh forks of it,
/// find it already done.
///
/// Why: a forked child starts with the parent's memory shared copy-on-write, but anything the parent never did
/// the child must do itself, in its own copy, every run. Two kinds of first-time work showed up in profiles of
/// `Shake.fork` (≈ 15 % of a run's CPU time):
///
/// - *Lazy symbol binding.* The first call of a C library function through the PLT runs the dynamic linker
///   (`_dl_fixup`), which walks the hash tables of every loaded library. In a child those file-backed pages are
///   not mapped yet (fork does not copy their page-table entries), so each lookup also takes page faults, and
///   the GOT write copies a page. The parent binds the functions once; the children inherit the bound GOT.
/// - *Swift runtime metadata.* Generic types such as `Dictionary<pid_t, Int>` are instantiated on first use and
///   cached in memory that the child would write (and copy) again on every run.
///
/// Every call here is harmless: it queries, fails on purpose on an invalid argument, or builds a value that is
/// thrown away. Nothing in the test process changes.
enum ForkWarmUp {
    /// Runs the warm-up once per process (a Swift global is initialized once, thread-safely).
    static func ensure() {
        _ = once
    }

    private static let once: Void = {
        bindLibraryFunctions()
        RunLeader.warmUpTypes()
    }()

    /// Calls, in a way that changes nothing, each C function the leader or a worker calls that a test process
    /// usually has not: `getppid`, `getpgid`, `setpgid` and `prctl` (death signal, subreaper), the signal-mask
    /// calls, `dup2` (output capture), `sched_yield` (the round barrier), `write` (reports), `waitid` and `errno`
    /// (leftover check). `setvbuf`, `_exit` and `signalfd` cannot be called harmlessly: the C shim calls them
    /// through pointers bound at load time instead (see shakedown_process.c).
    private static func bindLibraryFunctions() {
        _ = getppid()
        _ = getpgid(0)
        // Into the group it is already in: a no-op (or EPERM for a session leader).
        _ = setpgid(0, getpgrp())
        _ = shakedown_get_child_subreaper()
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGCHLD)
        var current = sigset_t()
        _ = sigprocmask(SIG_BLOCK, nil, &current)  // A nil set only reads the mask.
        _ = dup2(-1, -1)  // EBADF.
        _ = write(-1, nil, 0)  // EBADF.
        sched_yield()
        // Our own pid is never our child: ECHILD, and WNOWAIT would not consume a status anyway.
        var probe = siginfo_t()
        _ = waitid(P_PID, id_t(getpid()), &probe, WEXITED | WNOHANG | WNOWAIT)
        _ = errno
    }
}

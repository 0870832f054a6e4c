#if canImport(Glibc)
import Glibc
#endif

/// One command copy's argv and environment as the C arrays `execve` takes, built by the run leader before it
/// forks the copies' shepherds.
///
/// Why in the leader: a shepherd is a fresh fork, and every page of code and heap it touches while building some
/// forty strings is faulted in or copied again, in every shepherd of every run; the leader has those pages already
/// (and keeps them between the runs of a ``LeaderSession``). Built for each run, since the seed changes. The leader
/// frees its copy after the fork loop; each shepherd uses its own inherited copy and leaves with `_exit`.
/// Costs one `strdup` per argument and variable, once per copy per run, in the leader.
package final class CommandSpawnPlan {
    /// NULL-terminated.
    package let argv: [UnsafeMutablePointer<CChar>?]
    /// NULL-terminated.
    package let envp: [UnsafeMutablePointer<CChar>?]

    /// Copies every string into C memory this object frees (the shepherds' inherited copies are never freed).
    package init(arguments: [String], environment: [String]) {
        argv = arguments.map { strdup($0) } + [nil]
        envp = environment.map { strdup($0) } + [nil]
    }

    deinit {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
}

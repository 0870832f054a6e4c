/// What kept a run's processes together, so that none outlives the run.
public enum RunContainment: Hashable, Sendable, CustomStringConvertible {
    /// The run had its own cgroup v2 group (this directory). The kernel keeps every process of the run in it, so
    /// at the end, or when the run leader dies, one `cgroup.kill` stops all of them, `setsid` daemons included.
    case controlGroup(path: String)
    /// No cgroup could be used (the reason says why): the run leader is the child subreaper of the run and each
    /// worker has its own process group. When the leader itself is killed, the test process kills the workers'
    /// process groups; a process that also left its group (`setsid`) can then escape.
    case processGroups(reason: String)

    /// Whether the kernel enforced it (a cgroup) rather than Shakedown's own bookkeeping.
    public var isKernelEnforced: Bool {
        if case .controlGroup = self { return true }
        return false
    }

    /// `cgroup /sys/fs/cgroup/unified/shakedown-…` or `process groups and subreaper (no cgroup: …)`.
    public var description: String {
        switch self {
        case let .controlGroup(path): return "cgroup \(path)"
        case let .processGroups(reason): return "process groups and subreaper (no cgroup: \(reason))"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Shakedown

/// What `--before` and `--check` leave running. Their own process group is stopped with them, but a step can
/// start a daemon (`setsid`, double fork) that leaves the group; this process is made a child subreaper while
/// steps run, so such orphans come back to it instead of pid 1, and are killed after each repetition.
enum StepLeftovers {
    /// Makes this process the subreaper of whatever the steps leave (this CLI process only, never the library).
    static func adoptOrphans() {
        _ = shakedown_set_child_subreaper(1)
    }

    /// Kills and reaps every child of this process but `sparing` (the idle run leader kept for the next
    /// repetition), again while killing one re-parents its children here. Returns their command lines.
    static func killAll(sparing: Set<pid_t> = []) -> [String] {
        var killed: [String] = []
        for _ in 0..<20 {
            let children = ProcessTable.children(of: getpid()).filter { !sparing.contains($0) }
            if children.isEmpty { break }
            for child in children {
                // A step's own group was stopped with it (its members are dying, or zombies): only reap those.
                let status = ProcessTable.status(of: child)
                if status?.isZombie != true, !(status.map { stoppedGroups.contains($0.processGroup) } ?? false) {
                    killed.append(ProcessTable.commandLine(of: child))
                }
                kill(child, SIGKILL)
            }
            for child in children {
                var status: Int32 = 0
                while waitpid(child, &status, 0) == -1 && errno == EINTR {}
            }
        }
        stoppedGroups.removeAll()
        return killed
    }

    /// Process groups of steps that were already stopped with SIGKILL (a step runs in a group of its own).
    nonisolated(unsafe) private static var stoppedGroups: Set<pid_t> = []

    /// Notes that a step's group was stopped: what is left of it is not a daemon the step started.
    static func stopped(group: pid_t) { stoppedGroups.insert(group) }
}

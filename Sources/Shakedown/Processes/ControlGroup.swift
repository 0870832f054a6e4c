#if canImport(Glibc)
import Glibc
#endif

/// A cgroup v2 group made for one run: the kernel keeps every process forked inside it inside it, whatever it
/// does (`setsid`, double fork, a dead parent), and `cgroup.kill` kills them all at once, including processes
/// forked while the kill is going on.
///
/// Made under the calling process's own group, on the cgroup2 mount found in `/proc/self/mountinfo`. Where there
/// is no such mount, or it is not writable (no root, no delegation), ``create(name:)`` says why and the run falls
/// back to process groups and the subreaper. Costs: `mkdir` and `rmdir` ≈ 30–60 µs each; moving a process in
/// takes the kernel's cgroup migration lock (the first move after boot can take milliseconds).
package struct ControlGroup: Sendable {
    /// The group's directory.
    package let path: String
    /// The group's path inside the cgroup2 hierarchy, as `/proc/PID/cgroup` shows it (`/a/b/shakedown-…`).
    package let hierarchyPath: String
    /// The directory of the group it was made in (where a process goes to leave it).
    package let parentPath: String

    /// Makes a new, empty group named `name` next to the calling process, or says why none can be made.
    package static func create(name: String) -> Result<ControlGroup, ContainmentUnavailable> {
        guard let mount = cgroup2Mount() else { return .failure(.init("no cgroup2 file system is mounted")) }
        guard let own = ownHierarchyPath() else {
            return .failure(.init("this process is not in a cgroup2 group (/proc/self/cgroup has no 0:: line)"))
        }
        // The mount may show a subtree (its root field): our path is relative to it.
        var relative = own
        if mount.root != "/" {
            guard own.hasPrefix(mount.root) else {
                return .failure(.init("own cgroup \(own) is outside the cgroup2 mount's root \(mount.root)"))
            }
            relative = String(own.dropFirst(mount.root.count))
        }
        let parent = mount.point + (relative == "/" ? "" : relative)
        let path = parent + "/" + name
        if mkdir(path, 0o755) != 0 {
            let error = errno
            return .failure(.init("cannot create a group in \(parent): \(String(cString: strerror(error))) (errno \(error))"))
        }
        let hierarchy = (own == "/" ? "" : own) + "/" + name
        return .success(ControlGroup(path: path, hierarchyPath: hierarchy, parentPath: parent))
    }

    /// Opens `cgroup.procs` for writing (close-on-exec): writing "0" to it moves the writer into the group.
    package func openProcesses() -> CInt {
        open(path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
    }

    /// Whether the kernel says `pid` is in this group (`/proc/PID/cgroup`); also true for its zombie.
    package func contains(_ pid: pid_t) -> Bool {
        guard let text = ProcessTable.readSmallFile("/proc/\(pid)/cgroup") else { return false }
        return text.split(separator: "\n").contains { $0 == "0::" + hierarchyPath }
    }

    /// The processes in the group now (`cgroup.procs`).
    package func members() -> [pid_t] {
        guard let text = ProcessTable.readSmallFile(path + "/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Whether any process is in the group (`populated` in `cgroup.events`); `nil` when it cannot be read.
    package var isPopulated: Bool? {
        guard let text = ProcessTable.readSmallFile(path + "/cgroup.events") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("populated ") {
            return line.hasSuffix(" 1")
        }
        return nil
    }

    /// SIGKILLs every process in the group: `cgroup.kill` (Linux 5.14+), else each member of `cgroup.procs`
    /// (repeated by ``killAndWait(within:)`` to catch processes forked meanwhile). Returns whether `cgroup.kill`
    /// was used.
    @discardableResult
    package func killAll() -> Bool {
        let fd = open(path + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { closeQuietly(fd) }
            if write(fd, "1", 1) == 1 { return true }
        }
        for pid in members() { kill(pid, SIGKILL) }
        return false
    }

    /// Kills the group and waits, up to `duration`, until it is empty. Returns the processes that were in it and
    /// whether it emptied in time (a process in uninterruptible sleep can outlast the wait).
    package func killAndWait(within duration: Duration) -> (killed: [pid_t], emptied: Bool) {
        let killed = members()
        let deadline = monotonicNanoseconds() + duration.nanoseconds
        while true {
            let usedKill = killAll()
            if isPopulated == false { return (killed, true) }
            if monotonicNanoseconds() >= deadline { return (killed, false) }
            // `cgroup.events` signals POLLPRI when `populated` changes; a short sleep bounds the wait either way.
            let events = open(path + "/cgroup.events", O_RDONLY | O_CLOEXEC)
            if events >= 0 {
                var fd = pollfd(fd: events, events: Int16(POLLPRI), revents: 0)
                // A failed poll must not turn this into a busy loop: then wait by time.
                if poll(&fd, 1, usedKill ? 20 : 5) < 0 { usleep(5_000) }
                closeQuietly(events)
            } else {
                usleep(5_000)
            }
        }
    }

    /// Removes the (empty) group; retries briefly while the kernel finishes releasing its last processes.
    /// Returns 0 or the errno of the last attempt.
    package func remove() -> Int32 {
        for _ in 0..<50 {
            if rmdir(path) == 0 || errno == ENOENT { return 0 }
            if errno != EBUSY { return errno }
            usleep(2_000)
        }
        return EBUSY
    }

    private static func cgroup2Mount() -> (point: String, root: String)? {
        guard let text = ProcessTable.readSmallFile("/proc/self/mountinfo") else { return nil }
        for line in text.split(separator: "\n") {
            // id parent major:minor root mountpoint options [optional…] - fstype source superoptions
            let parts = line.split(separator: " ")
            guard let dash = parts.firstIndex(of: "-"), dash + 1 < parts.count, parts[dash + 1] == "cgroup2",
                  parts.count > 4
            else { continue }
            return (unescape(parts[4]), unescape(parts[3]))
        }
        return nil
    }

    private static func ownHierarchyPath() -> String? {
        guard let text = ProcessTable.readSmallFile("/proc/self/cgroup") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }

    /// mountinfo writes space, tab, newline and backslash as `\040`-style octal escapes.
    private static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
               let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Why a run has no cgroup of its own.
package struct ContainmentUnavailable: Error, Sendable {
    package let reason: String
    package init(_ reason: String) { self.reason = reason }
}

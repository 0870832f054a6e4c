#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Shakedown

/// Processes started from inside a run with a marker in their environment, found again through /proc (what the
/// kernel says, not what Shakedown reported).
struct MarkedProcesses {
    let marker = "SHAKEDOWN_TEST_MARKER=\(UUID().uuidString)"

    /// Starts `/bin/sh -c script` with only the marker in its environment (its descendants inherit it); in a new
    /// session when `newSession` (as `setsid` would). Returns the pid, or -1. Safe to call in a worker body.
    func spawn(_ script: String, newSession: Bool = false) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc ≥ 2.26) is not imported into Swift.
        if newSession { posix_spawnattr_setflags(&attributes, 0x80) }
        var pid: pid_t = -1
        let arguments = ["sh", "-c", script]
        let result = withCStrings(arguments) { argv in
            withCStrings([marker]) { envp in
                posix_spawn(&pid, "/bin/sh", nil, &attributes, argv, envp)
            }
        }
        return result == 0 ? pid : -1
    }

    /// Every process whose environment holds the marker now (zombies have none left).
    func alive() -> [Int32] {
        ProcessTable.allProcesses().filter { pid in
            guard let environment = ProcessTable.readSmallFile("/proc/\(pid)/environ") else { return false }
            return environment.split(separator: "\0").contains { $0 == marker }
        }
    }

    /// Waits (bounded) until at least `count` marked processes exist; returns how many did.
    func waitFor(_ count: Int, within seconds: Double = 10) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var found = alive().count
        while found < count && Date() < deadline {
            usleep(20_000)
            found = alive().count
        }
        return found
    }
}

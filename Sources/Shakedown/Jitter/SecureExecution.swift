#if canImport(Glibc)
import Glibc
#endif

/// Whether the kernel will start an executable in secure-execution mode (`AT_SECURE`) for this process: set-user-ID
/// to another user, or set-group-ID to another group, on a file system that honours those bits. The dynamic loader
/// then ignores `LD_PRELOAD`, so the command runs without the preload library's preemption and start gate.
package enum SecureExecution {
    /// True when `path` is a set-user-ID file owned by another user than this process's real user, or a
    /// set-group-ID file of another group than its real group, and its file system is not mounted `nosuid`. False for
    /// files that cannot be examined (the exec will say why). File capabilities, which also make execution secure,
    /// are not read.
    /// - Cost: `stat` and `statvfs`, no allocation; safe in a forked child.
    package static func ignoresPreload(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        let changesUser = status.st_mode & S_ISUID != 0 && status.st_uid != getuid()
        let changesGroup = status.st_mode & S_ISGID != 0 && status.st_mode & S_IXGRP != 0 && status.st_gid != getgid()
        guard changesUser || changesGroup else { return false }
        var fileSystem = statvfs()
        guard statvfs(path, &fileSystem) == 0 else { return true }
        return fileSystem.f_flag & UInt(ST_NOSUID) == 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why the kernel refused `PTRACE_SEIZE` with EPERM, and what would change its mind.
///
/// EPERM from ptrace has many causes that the kernel does not tell apart: the thread is exiting, another tracer
/// holds it, this process lacks the right (not root, no CAP_SYS_PTRACE, Yama), or the target is protected in a way
/// root cannot override here. ``Facts`` collects what /proc shows about both sides; ``explanation`` turns them into
/// a reason and a fix that do not contradict each other (it never tells root to "run as root").
struct PtraceRefusal: Sendable, Hashable {
    /// What this process and the target look like, read from /proc right after the refusal.
    struct Facts: Sendable, Hashable {
        var targetPID: Int32
        var thread: Int32
        /// This process's effective uid.
        var effectiveUID: UInt32
        /// This process's effective capabilities (CapEff).
        var capabilities: UInt64?
        /// Yama's ptrace_scope, nil without Yama.
        var ptraceScope: Int?
        /// The target's effective uid, nil if unreadable.
        var targetUID: UInt32?
        /// The target's permitted capabilities (CapPrm).
        var targetCapabilities: UInt64?
        /// The owner of /proc/PID: root for a process that is not dumpable (set-uid, PR_SET_DUMPABLE 0).
        var procOwnerUID: UInt32?
        /// Whether the target is a descendant of this process (Yama scope 1 allows those).
        var isDescendant: Bool
    }

    var facts: Facts

    static let capSysPtrace = 19

    /// Reads the facts for `tid` of `pid` as this process sees them now.
    static func gather(pid: Int32, tid: Int32) -> Facts {
        let mine = ProcFiles.text("/proc/self/status").map(ProcStatus.init)
        let target = ProcFiles.text("/proc/\(pid)/status").map(ProcStatus.init)
        var info = stat()
        let owner: UInt32? = stat("/proc/\(pid)", &info) == 0 ? info.st_uid : nil
        let scope = ProcFiles.text("/proc/sys/kernel/yama/ptrace_scope").flatMap { Int($0.prefix(while: { $0 != "\n" })) }
        return Facts(
            targetPID: pid, thread: tid, effectiveUID: geteuid(), capabilities: mine?.effectiveCapabilities,
            ptraceScope: scope, targetUID: target?["Uid"].flatMap(Self.effectiveUID),
            targetCapabilities: target?["CapPrm"].flatMap { UInt64($0, radix: 16) }, procOwnerUID: owner,
            isDescendant: isDescendant(pid))
    }

    /// "Uid: real effective saved fs" → effective.
    private static func effectiveUID(_ field: String) -> UInt32? {
        let parts = field.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return parts.count > 1 ? UInt32(parts[1]) : nil
    }

    private static func isDescendant(_ pid: Int32) -> Bool {
        var current = pid
        for _ in 0..<64 {
            guard let parent = ProcStat.read(pid: current)?.parent, parent > 0 else { return false }
            if parent == getpid() { return true }
            current = parent
        }
        return false
    }

    /// Reason and fix in one message: "ptrace(PTRACE_SEIZE) was refused: <reasons>. To capture it: <fixes>."
    var explanation: String {
        var reasons: [String] = []
        var fixes: [String] = []
        let root = facts.effectiveUID == 0
        let hasPtraceCap = facts.capabilities.map { $0 & (1 << UInt64(Self.capSysPtrace)) != 0 } ?? root
        if !root, let targetUID = facts.targetUID, targetUID != facts.effectiveUID {
            reasons.append("the target runs as uid \(targetUID) and this process as uid \(facts.effectiveUID), without root")
            fixes.append("run shakedown as uid \(targetUID) or as root")
        }
        if !hasPtraceCap {
            reasons.append("this process lacks CAP_SYS_PTRACE")
            fixes.append("give it CAP_SYS_PTRACE (sudo; in a container --cap-add=SYS_PTRACE; or setcap cap_sys_ptrace+ep on the binary)")
        }
        if !hasPtraceCap, let scope = facts.ptraceScope {
            switch scope {
            case 1 where !facts.isDescendant:
                reasons.append("Yama ptrace_scope is 1: only a process's ancestors may trace it, and \(facts.targetPID) is not a descendant of this one")
                fixes.append("let the target allow it with prctl(PR_SET_PTRACER, \(getpid()) or PR_SET_PTRACER_ANY), or start it from shakedown, or lower the scope: sysctl kernel.yama.ptrace_scope=0")
            case 2:
                reasons.append("Yama ptrace_scope is 2: only processes with CAP_SYS_PTRACE may trace")
            case 3:
                reasons.append("Yama ptrace_scope is 3: nobody may trace, not even root (it stays so until reboot)")
                fixes.append("reboot with kernel.yama.ptrace_scope below 3")
            default:
                break
            }
        }
        if !hasPtraceCap, let owner = facts.procOwnerUID, owner == 0, let targetUID = facts.targetUID, targetUID != 0 {
            reasons.append("the target is not dumpable (a set-uid program, or it called prctl(PR_SET_DUMPABLE, 0)); only CAP_SYS_PTRACE overrides that")
        }
        if let theirs = facts.targetCapabilities, let ours = facts.capabilities, theirs & ~ours != 0 {
            let missing = Self.capabilityNames(theirs & ~ours)
            reasons.append("the target holds capabilities this process lacks (\(missing.joined(separator: ", ")))")
        }
        if hasPtraceCap && (root || reasons.isEmpty) {
            // Root with CAP_SYS_PTRACE overrides uid, dumpable and capability checks in the same user namespace; a
            // refusal anyway means a policy root cannot lift from here.
            reasons.append("this process already has CAP_SYS_PTRACE\(root ? " and is root" : ""), so the target is protected by "
                + "something that does not yield to it: another user namespace, or a security module (SELinux, AppArmor, "
                + "Landlock, lockdown)")
            fixes.append("run shakedown in the target's user namespace or its parent, or allow ptrace in the security policy")
        }
        var text = "ptrace(PTRACE_SEIZE) of thread \(facts.thread) was refused: " + reasons.joined(separator: "; ") + "."
        if !fixes.isEmpty { text += " To capture it: " + fixes.joined(separator: "; or ") + "." }
        return text
    }

    /// The name of every capability bit set in `mask` ("CAP_SYS_RESOURCE"), "cap N" for unknown bits.
    static func capabilityNames(_ mask: UInt64) -> [String] {
        let names = [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
            "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
            "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
            "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
            "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
            "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
            "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
        ]
        return (0..<64).filter { mask & (1 << UInt64($0)) != 0 }.map { $0 < names.count ? names[$0] : "cap \($0)" }
    }
}

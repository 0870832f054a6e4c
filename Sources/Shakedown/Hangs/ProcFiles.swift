#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Readers for the /proc files hang capture needs. Each read is one open/read/close: /proc files are generated
/// on read, so a single read(2) of a large enough buffer gives a consistent view.
enum ProcFiles {
    /// The bytes of `path`, read to the end.
    static func read(_ path: String) throws(ShakedownError) -> [UInt8] {
        let descriptor = try syscall("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = try syscall("read(\(path))") {
                chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// The text of `path`, or nil when it cannot be read (the thread or process is gone, or access is denied).
    static func text(_ path: String) -> String? {
        guard let bytes = try? read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The errno that opening `path` fails with, or nil when it opens.
    static func openError(_ path: String) -> Errno? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 { close(descriptor); return nil }
        return .lastError
    }

    /// The numeric entries of a /proc task directory, ascending.
    static func taskIDs(of pid: Int32) throws(ShakedownError) -> [Int32] {
        try numericEntries("/proc/\(pid)/task", pid: pid)
    }

    /// The numeric entries of a /proc directory (/proc itself: every process), ascending.
    static func numericEntries(_ path: String, pid: Int32 = 0) throws(ShakedownError) -> [Int32] {
        guard let directory = opendir(path) else {
            let error = Errno.lastError
            if error == .noSuchFileOrDirectory || error == .noSuchProcess { throw ShakedownError(.noSuchProcess(pid: pid)) }
            throw ShakedownError.systemCall("opendir(\(path))", errno: error)
        }
        defer { closedir(directory) }
        var ids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let id = Int32(name) { ids.append(id) }
        }
        return ids.sorted()
    }

    /// The target of a symbolic link such as /proc/PID/exe, or nil.
    static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The fields of /proc/PID/stat (or /proc/PID/task/TID/stat) that hang capture uses.
struct ProcStat: Sendable {
    var command: String
    var state: ProcessState
    var parent: Int32
    var flags: UInt64

    /// PF_KTHREAD from include/linux/sched.h: the task is a kernel thread.
    static let kernelThreadFlag: UInt64 = 0x0020_0000

    var isKernelThread: Bool { flags & Self.kernelThreadFlag != 0 }

    /// Parses "pid (comm) S ppid pgrp session tty tpgid flags ...". The command may itself contain spaces and
    /// parentheses, so the fields start after the last ")".
    init?(_ text: String) {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") , open < close else { return nil }
        command = String(text[text.index(after: open)..<close])
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 6, let parent = Int32(fields[1]), let flags = UInt64(fields[6]) else { return nil }
        state = ProcessState(rawValue: String(fields[0]))
        self.parent = parent
        self.flags = flags
    }

    /// Reads /proc/PID/stat or /proc/PID/task/TID/stat; nil when the task is gone.
    static func read(pid: Int32, tid: Int32? = nil) -> ProcStat? {
        let path = tid.map { "/proc/\(pid)/task/\($0)/stat" } ?? "/proc/\(pid)/stat"
        return ProcFiles.text(path).flatMap(ProcStat.init)
    }
}

/// The "Key:\tvalue" lines of /proc/PID/status.
struct ProcStatus: Sendable {
    private var fields: [Substring: Substring] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
        }
    }

    subscript(key: String) -> String? { fields[Substring(key)].map(String.init) }

    var threadGroup: Int32? { self["Tgid"].flatMap { Int32($0) } }
    var tracer: Int32? { self["TracerPid"].flatMap { Int32($0) } }
    var effectiveCapabilities: UInt64? { self["CapEff"].flatMap { UInt64($0, radix: 16) } }
}

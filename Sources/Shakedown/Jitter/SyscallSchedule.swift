#if canImport(Glibc)
import Glibc
#endif

/// A run's schedule of controlled system calls: which worker's call was released, in order. What `--trace FILE`
/// writes and `--replay FILE` follows.
///
/// The text form is line-based: a `shakedown-schedule 1` header, `mode`, `seed`, `processes`, `pct DEPTH STEPS`
/// (pct only), `fallbacks`, then `events N` and exactly N `WORKER SYSCALL` lines, one per released call (a file with
/// fewer or more is refused: cut short or added to, it would replay another order). The same seed and mode give the same
/// events as long as no release was forced by a timeout (``timeoutReleases``).
public struct SyscallSchedule: Hashable, Sendable {
    /// One released call.
    public struct Event: Hashable, Sendable, CustomStringConvertible {
        /// The worker whose call went on (its index in the run).
        public let worker: Int
        /// The system call's number on this architecture.
        public let syscall: Int32

        /// - Parameters:
        ///   - worker: the worker's index in the run.
        ///   - syscall: the system call's number on this architecture.
        public init(worker: Int, syscall: Int32) {
            self.worker = worker
            self.syscall = syscall
        }

        /// `worker:syscall`.
        public var description: String { "\(worker):\(syscall)" }
    }

    /// `syscalls` or `pct`.
    public var mode: JitterMode
    /// The run's seed.
    public var seed: Seed
    /// Worker processes of the run.
    public var processes: Int
    /// PCT depth and step estimate (pct only).
    public var pct: (depth: Int, steps: Int)? {
        get { pctDepth.map { ($0, pctSteps) } }
        set {
            pctDepth = newValue?.depth
            pctSteps = newValue?.steps ?? 0
        }
    }
    private var pctDepth: Int?
    private var pctSteps = 0
    /// Every released call, in order.
    public var events: [Event]
    /// Releases forced because a copy used the bounded wait's processor time outside controlled calls.
    public var timeoutReleases: Int
    /// Releases made while every other copy slept outside a controlled call.
    public var blockedReleases: Int

    /// A schedule; ``write(to:)`` stores it.
    /// - Parameters:
    ///   - mode: `syscalls` or `pct`.
    ///   - seed: the run's seed.
    ///   - processes: the run's worker processes.
    ///   - pct: PCT depth and step estimate, for `pct`.
    ///   - events: the released calls in order.
    ///   - timeoutReleases: releases forced by the bounded wait.
    ///   - blockedReleases: releases made while the other copies slept outside controlled calls.
    public init(mode: JitterMode, seed: Seed, processes: Int, pct: (depth: Int, steps: Int)? = nil,
                events: [Event], timeoutReleases: Int = 0, blockedReleases: Int = 0) {
        self.mode = mode
        self.seed = seed
        self.processes = processes
        self.events = events
        self.timeoutReleases = timeoutReleases
        self.blockedReleases = blockedReleases
        self.pct = pct
    }

    /// The text form.
    public var text: String {
        var lines = ["shakedown-schedule 1", "mode \(mode)", "seed \(seed.value)", "processes \(processes)"]
        if let pct { lines.append("pct \(pct.depth) \(pct.steps)") }
        lines.append("fallbacks \(blockedReleases) \(timeoutReleases)")
        lines.append("events \(events.count)")
        lines += events.map { "\($0.worker) \($0.syscall)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses ``text``.
    /// - Parameters:
    ///   - text: the text form.
    ///   - name: what errors call the input (a file's path).
    /// - Throws: `.invalidArgument(name)` saying which line is wrong, or that the events that follow are not as many
    ///   as the `events N` line says (a truncated or padded file).
    public init(parsing text: String, name: String = "schedule") throws(ShakedownError) {
        var mode: JitterMode?
        var seed: Seed?
        var processes: Int?
        var pct: (depth: Int, steps: Int)?
        var fallbacks = (blocked: 0, timeout: 0)
        var events: [Event] = []
        var declaredEvents: Int?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == "shakedown-schedule 1" else {
            throw .invalidArgument(name, "not a Shakedown schedule (the first line must be `shakedown-schedule 1`)")
        }
        for (number, line) in lines.enumerated().dropFirst() {
            let words = line.split(separator: " ")
            func bad() -> ShakedownError { .invalidArgument(name, "line \(number + 1) is not understood: \(line.prefix(80))") }
            if declaredEvents != nil {
                guard words.count == 2, let worker = Int(words[0]), worker >= 0, worker < 1_000_000,
                      let call = Int32(words[1]) else { throw bad() }
                events.append(Event(worker: worker, syscall: call))
                continue
            }
            switch (words.first, words.count) {
            case ("mode", 2): mode = JitterMode(rawValue: String(words[1]))
            case ("seed", 2): seed = Seed(parsing: String(words[1]))
            case ("processes", 2): processes = Int(words[1])
            case ("pct", 3):
                guard let depth = Int(words[1]), let steps = Int(words[2]) else { throw bad() }
                pct = (depth, steps)
            case ("fallbacks", 3):
                guard let blocked = Int(words[1]), let timeout = Int(words[2]) else { throw bad() }
                fallbacks = (blocked, timeout)
            case ("events", 2):
                guard let count = Int(words[1]), count >= 0 else { throw bad() }
                declaredEvents = count
            default: throw bad()
            }
        }
        guard let mode, mode == .syscalls || mode == .pct else {
            throw .invalidArgument(name, "names no mode, or one without a schedule (syscalls or pct)")
        }
        guard let seed, let processes, processes >= 1, processes <= RunConfiguration.maximumProcesses else {
            throw .invalidArgument(name, "lacks its seed or a process count within 1...\(RunConfiguration.maximumProcesses)")
        }
        // A file cut short (a full disk, a copy interrupted) or with lines added would replay another order.
        guard let declaredEvents else {
            throw .invalidArgument(name, "has no `events N` line: truncated before its events")
        }
        guard events.count == declaredEvents else {
            throw .invalidArgument(name, "its header says `events \(declaredEvents)` but \(events.count) event "
                + "line\(events.count == 1 ? "" : "s") follow\(events.count == 1 ? "s" : ""): "
                + (events.count < declaredEvents ? "truncated" : "lines were added") + "; trace the run again")
        }
        guard events.allSatisfy({ $0.worker < processes }) else {
            throw .invalidArgument(name, "names a worker beyond its \(processes) processes")
        }
        self.init(mode: mode, seed: seed, processes: processes, pct: pct, events: events,
                  timeoutReleases: fallbacks.timeout, blockedReleases: fallbacks.blocked)
    }

    /// Reads a schedule file.
    /// - Parameter path: the file, as written by ``write(to:)`` or `--trace`.
    /// - Throws: `.systemCall("open"/"read")` with errno, or `.invalidArgument(path)` for a file that is not one.
    public static func load(from path: String) throws(ShakedownError) -> SyscallSchedule {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .systemCall("open", errno: .lastError) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw .systemCall("read", errno: .lastError)
            }
            if count == 0 { break }
            bytes += buffer[..<count]
            guard bytes.count <= 256 << 20 else { throw .invalidArgument(path, "larger than 256 MiB") }
        }
        return try SyscallSchedule(parsing: String(decoding: bytes, as: UTF8.self), name: path)
    }

    /// Writes ``text`` to `path` (created or truncated, mode 0644).
    /// - Parameter path: the file to write.
    /// - Throws: `.systemCall("open"/"write")` with errno.
    public func write(to path: String) throws(ShakedownError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .systemCall("open", errno: .lastError) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .systemCall("write", errno: .lastError)
            }
            offset += written
        }
    }

    /// A 64-bit FNV-1a digest of the event order, for a report line.
    public var digest: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for event in events {
            for value in [UInt64(event.worker), UInt64(UInt32(bitPattern: event.syscall))] {
                hash = (hash ^ value) &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
#if canImport(FoundationEssentials)
// FoundationEssentials has JSONEncoder without loading all of Foundation (and ICU) at every start of the tool.
import FoundationEssentials
#else
import Foundation
#endif
import Shakedown

/// `shakedown diagnose PID…`: what every thread of running processes is doing, and deadlocks among their
/// Shakedown mutexes. The processes keep running.
struct DiagnoseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Show what every thread of running processes is doing, and name their deadlocks.",
        discussion: """
        Each process is stopped for a few milliseconds with ptrace, its threads are unwound, and it is released: \
        it keeps running. All processes (the given pids and, unless --no-children, their descendants; each once) are stopped \
        together, so waits across processes are seen at one instant, and analysed together: a deadlock between \
        threads or processes over pthread mutexes, NSLock, Swift Mutex, flock/fcntl locks or Shakedown mutexes is \
        printed first, each wait as "thread T (function at file:line) waits for LOCK held by thread U".

        Needs root or CAP_SYS_PTRACE. A process that a debugger or strace already traces cannot be captured.

        Exit codes:
          0  captured; no deadlock found
          1  captured; a deadlock was found (it is printed first)
          3  no such process
          4  permission denied (the message says why: not root, no CAP_SYS_PTRACE, Yama, another tracer)
          5  the pid is this shakedown process itself
          6  any other capture failure (a kernel thread, a failed system call)
        With several pids, the first failure's code wins over 0 and 1; the other processes are still reported.
        """
    )

    @Argument(help: "The process ids to capture.")
    var pids: [Int32]

    @Flag(help: "Print JSON: {processes: [{pid, state, threads: [{tid, state, frames: [{address, function, file, line}]}]}], deadlock}.")
    var json = false

    @Flag(help: "Show every kept frame of every thread instead of the compact view.")
    var full = false

    // `.unconditional` so that `--max-frames -1` reaches validate() and gets the range, not "Missing value".
    @Option(parsing: .unconditional, help: "Frames kept per thread (1...\(Self.frameRange.upperBound)).")
    var maxFrames = 64

    @Option(parsing: .unconditional, help: "Frames per thread in the compact view (1...\(Self.frameRange.upperBound)).")
    var frames = 8

    @Flag(help: "Capture only the given processes, not their descendants.")
    var noChildren = false

    @Flag(help: "Do not run llvm-symbolizer: names from libunwind only, no file:line.")
    var noSymbolizer = false

    @Option(parsing: .unconditional, help: "Seconds the capture of one process may take (0.001...86400).")
    var timeout: Double = 10

    /// For benchmarks: capture this many times with one inspector (a warm symbolizer) and print the timings to
    /// standard error; the report shows the last capture.
    @Option(name: .customLong("repeat"), parsing: .unconditional, help: .hidden)
    var repetitions: Int = 1

    /// Frames a thread can keep: the unwinder walks at most this many (HangInspector's walk limit).
    static let frameRange = 1...4_096
    static let timeoutRange = 0.001...86_400.0

    func validate() throws {
        if pids.isEmpty { throw ValidationError("give at least one pid") }
        if let bad = pids.first(where: { $0 <= 0 }) { throw ValidationError("\(bad) is not a process id") }
        if !Self.frameRange.contains(maxFrames) {
            throw ValidationError("--max-frames \(maxFrames) is out of range: give 1...\(Self.frameRange.upperBound)")
        }
        if !Self.frameRange.contains(frames) {
            throw ValidationError("--frames \(frames) is out of range: give 1...\(Self.frameRange.upperBound)")
        }
        // `contains` is false for NaN, so NaN and ±inf are refused here, before any Double → Int64 conversion.
        if !Self.timeoutRange.contains(timeout) {
            throw ValidationError("--timeout \(timeout) is out of range: give 0.001...86400 seconds")
        }
        if !(1...1_000).contains(repetitions) { throw ValidationError("--repeat must be 1...1000") }
    }

    func run() throws {
        let inspector = HangInspector(options: .init(
            maxFrames: maxFrames, timeLimit: .milliseconds(Int64(timeout * 1000)),
            symbolization: noSymbolizer ? .libunwindOnly : .automatic))
        var snapshots: [ProcessSnapshot] = []
        var failures: [(pid: Int32, message: String, code: Int32)] = []
        // A deadlock between a parent and its child is the common case: take the whole tree unless told not to.
        // pid 1's descendants are the whole system: it is taken alone.
        var targets = noChildren ? pids : pids.filter { $0 == 1 } + ProcessTree.withDescendants(pids.filter { $0 != 1 })
        if let itself = targets.firstIndex(of: getpid()) {
            targets.remove(at: itself)
            if pids.contains(getpid()) {
                failures.append((getpid(), "\(getpid()) is this shakedown process: it cannot trace itself", 5))
            }
        }
        var captured = inspector.captureAll(pids: targets)
        for round in 1..<max(1, repetitions) {
            for entry in captured { if case let .success(snapshot) = entry.result { Self.printTiming(snapshot, round: round) } }
            captured = inspector.captureAll(pids: targets)
        }
        for entry in captured {
            switch entry.result {
            case let .success(snapshot):
                if repetitions > 1 { Self.printTiming(snapshot, round: repetitions) }
                snapshots.append(snapshot)
            case let .failure(error):
                if pids.contains(entry.pid) {
                    failures.append((entry.pid, error.description, Self.exitCode(for: error)))
                } else if case .noSuchProcess = error.code {
                    continue  // a descendant that exited since the listing: nothing to report
                } else {
                    // A descendant nobody asked for by pid: say why it is missing, without changing the verdict's code.
                    writeToStandardError("shakedown diagnose: descendant \(entry.pid) not captured: "
                        + TerminalText.escaped(error.description) + "\n")
                }
            }
        }
        let analysis = DeadlockAnalysis(snapshots: snapshots)

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let output = Output(
                processes: snapshots, deadlock: analysis,
                errors: failures.map { .init(pid: $0.pid, message: $0.message, exitCode: $0.code) })
            // The encoder leaves DEL, C1 and bidi controls (from a process's argv or thread names) raw.
            print(TerminalText.jsonEscaped(String(decoding: try encoder.encode(output), as: UTF8.self)))
        } else {
            let renderer = SnapshotRenderer(style: full ? .full : .compact(framesPerThread: frames))
            // Command lines, thread and symbol names are the process's to choose: shown, never obeyed.
            if !snapshots.isEmpty { print(TerminalText.escaped(renderer.render(snapshots, analysis: analysis))) }
        }
        for failure in failures {
            writeToStandardError("shakedown diagnose: \(TerminalText.escaped(failure.message))\n")
        }
        if let first = failures.first { throw ExitCode(first.code) }
        if !analysis.deadlocks.isEmpty { throw ExitCode(1) }
    }

    static func printTiming(_ snapshot: ProcessSnapshot, round: Int) {
        let capture = Double(snapshot.captureDuration.nanoseconds) / 1_000_000
        let stopped = Double(snapshot.stoppedDuration.nanoseconds) / 1_000_000
        let frames = snapshot.threads.reduce(0) { $0 + $1.frames.count }
        writeToStandardError("capture \(round): \(capture) ms total, \(stopped) ms stopped, \(snapshot.threads.count) threads, \(frames) frames\n")
    }

    static func exitCode(for error: ShakedownError) -> Int32 {
        switch error.code {
        case .noSuchProcess: return 3
        case .permissionDenied: return 4
        default: return 6
        }
    }

    struct Output: Encodable {
        struct Failure: Encodable {
            var pid: Int32
            var message: String
            var exitCode: Int32
        }

        var processes: [ProcessSnapshot]
        var deadlock: DeadlockAnalysis
        var errors: [Failure]
    }
}

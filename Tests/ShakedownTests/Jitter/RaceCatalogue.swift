#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Runs the race catalogue's plain programs (Fixtures/race-*) as real processes, copies started together, with or
/// without the preload library, and judges the shared state they leave behind.
enum RaceCatalogue {
    /// A catalogue bug: how to start one copy in a fresh scratch directory, and how to judge the outcome.
    struct Bug: Sendable {
        let fixture: String
        let iterations: Int
        /// Whether the state in `directory` after `copies` copies shows the bug.
        let judge: @Sendable (_ directory: String, _ copies: Int, _ iterations: Int) -> Bool
        /// Arguments after the optional `--fixed`.
        let arguments: @Sendable (_ directory: String, _ iterations: Int) -> [String]

        /// The same bug with another iteration count.
        func with(iterations: Int) -> Bug { Bug(fixture: fixture, iterations: iterations, judge: judge, arguments: arguments) }

        static func counter(_ fixture: String, iterations: Int) -> Bug {
            Bug(fixture: fixture, iterations: iterations, judge: { directory, copies, iterations in
                readInt64(at: "\(directory)/counter") != Int64(copies * iterations)
            }, arguments: { directory, iterations in ["\(directory)/counter", "\(iterations)"] })
        }

        static let sharedMemory = counter("race-shm-counter", iterations: 10_000)
        static let sharedMemorySwift = counter("race-shm-counter-swift", iterations: 10_000)
        /// Load and store as separate instructions (race-shm-counter's `+=` is one `incq` at -O).
        static let sharedMemoryTickets = counter("race-shm-tickets", iterations: 10_000)
        static let fileCounter = counter("race-file-counter", iterations: 50)
        static let append = Bug(fixture: "race-append", iterations: 200, judge: { directory, copies, iterations in
            fileSize("\(directory)/log") != copies * iterations * 16
        }, arguments: { directory, iterations in ["\(directory)/log", "\(iterations)"] })
        static let doubleInit = Bug(fixture: "race-double-init", iterations: 100, judge: { directory, _, iterations in
            fileSize("\(directory)/log").map { _ in lineCount("\(directory)/log") != iterations } ?? true
        }, arguments: { directory, iterations in [directory, "\(iterations)"] })
        /// Two threads in one process: the program judges itself (exit 1 on a lost update).
        static let threads = Bug(fixture: "race-threads", iterations: 200_000, judge: { _, _, _ in false },
                                 arguments: { _, iterations in ["\(iterations)"] })
        /// A consumer and a producer thread; the program judges itself (exit 1 on a hand-off that timed out).
        static let lostWakeup = Bug(fixture: "race-lost-wakeup", iterations: 2_000, judge: { _, _, _ in false },
                                    arguments: { _, iterations in ["\(iterations)"] })
        /// Two sender threads and a pipe; the program judges itself (exit 1 on a message out of sequence).
        static let pipeOrder = Bug(fixture: "race-pipe-order", iterations: 2_000, judge: { _, _, _ in false },
                                   arguments: { _, iterations in ["\(iterations)"] })
        /// A free list shared by the copies; each copy judges itself (exit 1 on a slot held twice or lost).
        static let aba = Bug(fixture: "race-aba", iterations: 20_000, judge: { _, _, _ in false },
                             arguments: { directory, iterations in ["\(directory)/slots", "\(iterations)"] })
    }

    /// What one trial saw.
    struct Outcome {
        /// The bug showed (judged from the shared state, or a copy exited 1).
        let found: Bool
        /// A copy failed in another way (exit status other than 0 and 1, or a signal): a broken trial.
        let brokenCopies: [Int32]
        /// For the counter bugs: the updates lost (copies × iterations less the final count), else nil.
        var lostUpdates: Int64? = nil
    }

    /// The directory the fixtures are built in: next to this test bundle.
    static var buildDirectory: String { ProcessEnvironment.executableDirectory ?? "" }

    /// One trial: `copies` copies of `bug` (or its twin) started back to back, waited for, judged.
    static func trial(_ bug: Bug, fixed: Bool, plan: JitterPlan, seed: Seed, copies: Int = 4) throws -> Outcome {
        var template = Array("/tmp/shakedown-race-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShakedownError.systemCall("mkdtemp") }
        let directory = String(cString: made)
        defer { removeTree(directory) }
        let executable = "\(buildDirectory)/\(bug.fixture)"
        let arguments = [executable] + (fixed ? ["--fixed"] : []) + bug.arguments(directory, bug.iterations)
        // Copies of one start share a start gate (the preload library holds each before main until all arrived).
        let gate = plan.preempts ? try CommandStartGate(parties: copies) : nil
        var pids: [pid_t] = []
        for copy in 0..<copies {
            let environment = plan.commandEnvironment(seed: seed.derived(for: copy), merging: currentEnvironment(), gate: gate)
            pids.append(try spawn(arguments, environment: environment))
        }
        var broken: [Int32] = []
        var exitedOne = false
        for pid in pids {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let exited = status & 0x7F == 0
            let code = (status >> 8) & 0xFF
            if exited && code == 1 { exitedOne = true } else if !(exited && code == 0) { broken.append(status) }
        }
        let count = readInt64(at: "\(directory)/counter")
        return Outcome(found: exitedOne || bug.judge(directory, copies, bug.iterations), brokenCopies: broken,
                       lostUpdates: count.map { Int64(copies * bug.iterations) - $0 })
    }

    /// How many of `trials` trials found the bug; fails the test on a broken copy.
    static func detections(_ bug: Bug, fixed: Bool = false, plan: JitterPlan, trials: Int, seed: UInt64 = 1,
                           file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        var found = 0
        for trial in 0..<trials {
            let outcome = try self.trial(bug, fixed: fixed, plan: plan, seed: Seed(seed).derived(for: trial))
            XCTAssertEqual(outcome.brokenCopies, [], "\(bug.fixture) copies failed", file: file, line: line)
            if outcome.found { found += 1 }
        }
        return found
    }

    static func spawn(_ arguments: [String], environment: [String]) throws -> pid_t {
        var pid: pid_t = 0
        let result = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                argv.withUnsafeBufferPointer { a in
                    envp.withUnsafeBufferPointer { e in
                        posix_spawn(&pid, a[0]!, nil, nil, a.baseAddress!, e.baseAddress!)
                    }
                }
            }
        }
        guard result == 0 else { throw ShakedownError.systemCall("posix_spawn", errno: .init(rawValue: result)) }
        return pid
    }

    static func currentEnvironment() -> [String] { ProcessEnvironment.current() }

    static func readInt64(at path: String) -> Int64? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var value: Int64 = 0
        return pread(fd, &value, 8, 0) == 8 ? value : nil
    }

    static func fileSize(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    static func lineCount(_ path: String) -> Int {
        guard let file = fopen(path, "r") else { return -1 }
        defer { fclose(file) }
        var lines = 0
        while true {
            let c = getc(file)
            if c == EOF { return lines }
            if c == 10 { lines += 1 }
        }
    }

    static func removeTree(_ directory: String) {
        guard let stream = opendir(directory) else { return }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { unlink("\(directory)/\(name)") }
        }
        closedir(stream)
        rmdir(directory)
    }
}

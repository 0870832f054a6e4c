// Detection power on the async bug catalogue (Fixtures/async-catalogue): how often each bug is found per executor,
// and how often its fixed twin is wrongly flagged.
// Usage: swift build && .build/debug/shakedown-benchmarks async-detection [--runs N] [--gap-us G] [--build-dir DIR]
// A run = one fresh process of the fixture with seed = run number, up to 8 iterations of the bug (stopping at the
// first sign of it; the fixture's deadline is 1 s for never-resumed, whose only sign is a hang, and 10 s for the
// others); the second party of every bug does G µs (default 10,000) of blocking work first. Modes:
// `default` is the runtime's own executor (no Shakedown); `random` and `pct` are `SeededExecutor.run` in that
// process; `worker-*` run the body in one forked worker (`Shake.fork`, whose only executor is Shakedown's: the
// runtime's does not work after fork).
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

/// The catalogue's bugs and the modes compared.
enum AsyncDetection {
    static let bugs = ["actor-reentrancy", "double-init", "unstructured-task", "resumed-twice", "never-resumed",
                       "lost-update"]
    static let modes = ["default", "random", "pct", "worker-fifo", "worker-random", "worker-pct"]

    /// What one run of the fixture said.
    struct Outcome {
        let found: Bool
        /// A signal ended it; `misuse`: its output carried the runtime's continuation-misuse message.
        let crashed: Bool
        let misuse: Bool
        let broken: String?
    }

    /// One run: the fixture's exit 1 or a crash is a find; any other exit but 0 breaks the benchmark.
    static func run(_ executable: String, _ bug: String, _ mode: String, seed: Int, fixed: Bool, gap: Int) -> Outcome {
        var template = Array("/tmp/shakedown-async-detection-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else { fail("mkstemp failed (errno \(errno))") }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { close(descriptor); unlink(path) }
        var arguments = [executable, bug, mode, "--seed", "\(seed)", "--gap-us", "\(gap)"]
        if fixed { arguments.append("--fixed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { fail("posix_spawn \(executable) failed (errno \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = readAll(descriptor)
        let signaled = status & 0x7F != 0
        let code = (status >> 8) & 0xFF
        let broken = !signaled && code != 0 && code != 1 ? "exit \(code): \(output)" : nil
        return Outcome(found: signaled || code == 1, crashed: signaled,
                       misuse: output.contains("SWIFT TASK CONTINUATION MISUSE"), broken: broken)
    }

    private static func readAll(_ descriptor: Int32) -> String {
        lseek(descriptor, 0, SEEK_SET)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer.prefix(count))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Runs the async detection table and prints it as Markdown.
func runAsyncDetectionBenchmark(_ arguments: [String]) {
    var runs = 100
    var gap = 10_000
    var buildDirectory = ProcessEnvironment.executableDirectory ?? ""
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        switch flag {
        case "--runs":
            guard let text = rest.popFirst(), let value = Int(text), value >= 1, value <= 100_000 else {
                fail("--runs takes a number within 1...100000")
            }
            runs = value
        case "--gap-us":
            guard let text = rest.popFirst(), let value = Int(text), value >= 0, value <= 1_000_000 else {
                fail("--gap-us takes a number within 0...1000000")
            }
            gap = value
        case "--build-dir":
            guard let text = rest.popFirst() else { fail("--build-dir takes a directory") }
            buildDirectory = text
        default:
            fail("async-detection: unknown option \(flag); usage: async-detection [--runs N] [--gap-us G] [--build-dir DIR]")
        }
    }
    let executable = "\(buildDirectory)/async-catalogue"
    guard access(executable, X_OK) == 0 else { fail("\(executable) not found: swift build first") }
    let start = executorNow()
    let loadBefore = Machine.loadAverage
    var lines: [String] = []
    for bug in AsyncDetection.bugs {
        var cells: [String] = []
        var twinFlags: [String] = []
        var crashNote = ""
        for mode in AsyncDetection.modes {
            progress("async-detection: \(bug) \(mode)…\n")
            var found = 0
            var misuse = 0
            var twinFound = 0
            for seed in 1...runs {
                let outcome = AsyncDetection.run(executable, bug, mode, seed: seed, fixed: false, gap: gap)
                let twin = AsyncDetection.run(executable, bug, mode, seed: seed, fixed: true, gap: gap)
                if let broken = outcome.broken ?? twin.broken { fail("\(bug) \(mode) seed \(seed): \(broken)") }
                found += outcome.found ? 1 : 0
                misuse += outcome.misuse ? 1 : 0
                twinFound += twin.found ? 1 : 0
            }
            cells.append("\(found)/\(runs)")
            twinFlags.append("\(twinFound)")
            if bug == "resumed-twice", found > 0 {
                crashNote += "\(mode): \(misuse) of \(found) with the runtime's message. "
            }
        }
        lines.append("| \(bug) | " + cells.joined(separator: " | ") + " | " + twinFlags.joined(separator: "/") + " |")
        if !crashNote.isEmpty { lines.append("<!-- \(crashNote)-->") }
    }
    let seconds = Double(executorNow() - start) / 1e9
    print("""
    - Produced by: `\(CommandLine.arguments.joined(separator: " "))` (\(Machine.buildConfiguration), source \
    \(Machine.sourceRevision())); \(Int(seconds)) s; \(Machine.processors) CPUs; load average before / after: \
    \(loadBefore) / \(Machine.loadAverage); \(Machine.utcDate).
    - \(runs) runs per cell (seed = run number), each a fresh process running up to 8 iterations; the second \
    party blocks its thread for \(gap) µs first.

    | bug | default (runtime's executor) | random | pct | worker-fifo | worker-random | worker-pct | twin flagged (per mode, of \(runs)) |
    |---|---|---|---|---|---|---|---|
    """)
    for line in lines { print(line) }
}

private func executorNow() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Runs Fixtures/async-catalogue (one bug or twin, one mode, one seed) as a fresh process and reads its verdict.
enum AsyncCatalogueProcess {
    /// What one run said.
    struct Outcome {
        /// The program's output (stdout and stderr together).
        let output: String
        /// The exit code, nil when a signal ended it.
        let exitCode: Int32?
        /// The signal that ended it, nil when it exited.
        let signal: Int32?

        /// The bug showed: the program said so (exit 1) or crashed (a continuation resumed twice).
        var found: Bool { exitCode == 1 || signal != nil }
    }

    static let bugs = ["actor-reentrancy", "double-init", "unstructured-task", "resumed-twice", "never-resumed",
                       "lost-update"]

    /// One run; fails the test on a usage error (exit 2) or a process that could not be started.
    static func run(_ bug: String, _ mode: String, seed: UInt64, fixed: Bool = false, gapMicroseconds: Int = 1_000,
                    timeoutMilliseconds: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let executable = "\(ProcessEnvironment.executableDirectory ?? "")/async-catalogue"
        // never-resumed shows only as a hang: a short deadline keeps its 100 finds quick. The others keep the
        // fixture's long one, so a slow run on a loaded host is not taken for a hang.
        let timeout = timeoutMilliseconds ?? (bug == "never-resumed" ? 300 : 10_000)
        var arguments = [executable, bug, mode, "--seed", "\(seed)", "--gap-us", "\(gapMicroseconds)",
                         "--timeout-ms", "\(timeout)"]
        if fixed { arguments.append("--fixed") }
        var template = Array("/tmp/shakedown-async-catalogue-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else { throw ShakedownError.systemCall("mkstemp") }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { close(descriptor); unlink(path) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            errno = spawned
            throw ShakedownError.systemCall("posix_spawn")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let signaled = status & 0x7F != 0
        let outcome = Outcome(output: output, exitCode: signaled ? nil : (status >> 8) & 0xFF,
                              signal: signaled ? status & 0x7F : nil)
        if outcome.exitCode == 2 { XCTFail("async-catalogue refused its arguments: \(output)", file: file, line: line) }
        return outcome
    }

    /// How many of the seeds' runs found the bug.
    static func finds(_ bug: String, _ mode: String, seeds: ClosedRange<UInt64>, fixed: Bool = false,
                      gapMicroseconds: Int = 1_000) throws -> Int {
        try seeds.reduce(0) { count, seed in
            try count + (run(bug, mode, seed: seed, fixed: fixed, gapMicroseconds: gapMicroseconds).found ? 1 : 0)
        }
    }
}

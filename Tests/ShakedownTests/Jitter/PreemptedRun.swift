#if canImport(Glibc)
import Glibc
#endif
@testable import Shakedown

/// One process run under the preload library's preemption (`JitterPlan.preempt`'s command environment), outside any
/// Shakedown run: its wait status, its output (stdout and stderr together) and the library's report lines.
struct PreemptedRun {
    var status: Int32
    var output: String
    var report: String

    /// Spawns `argv` (argv[0] a path) with `seed`, waits for it, and reads what it left. `tag` keeps concurrent
    /// tests' files apart.
    init(_ argv: [String], tag: String, seed: UInt64) throws {
        let outputPath = "/tmp/shakedown-preempted-\(getpid())-\(tag)-\(seed).out"
        let reportPath = "/tmp/shakedown-preempted-\(getpid())-\(tag)-\(seed).report"
        defer { unlink(outputPath); unlink(reportPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)
        let environment = JitterPlan.preempt.commandEnvironment(
            seed: Seed(seed), merging: RaceCatalogue.currentEnvironment() + ["SHAKEDOWN_PREEMPT_REPORT=\(reportPath)"])
        let pointers = (argv.map { strdup($0) } + [nil], environment.map { strdup($0) } + [nil])
        defer { (pointers.0 + pointers.1).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, pointers.0, pointers.1)
        guard spawned == 0 else {
            errno = spawned  // posix_spawn returns the error number; systemCall reads errno
            throw ShakedownError.systemCall("posix_spawn")
        }
        var waited: Int32 = 0
        while waitpid(pid, &waited, 0) < 0 && errno == EINTR {}
        status = waited
        output = Self.contents(outputPath)
        report = Self.contents(reportPath)
    }

    /// The number after `name=` in the report lines, if any.
    func reportField(_ name: String) -> Int? {
        report.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix("\(name)=") }
            .flatMap { Int($0.dropFirst(name.count + 1)) }
    }

    private static func contents(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 { bytes += buffer.prefix(count) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Shakedown
import Synchronization

/// A `--before` or `--check` command: `/bin/sh -c COMMAND` with `SHAKEDOWN_REPETITION` and `SHAKEDOWN_SEED` set,
/// stdin from /dev/null, stdout and stderr captured (so `--json` output stays JSON), a deadline, and every process
/// it leaves in its process group stopped when it ends.
struct ShellStep {
    /// How the step ended.
    struct Result {
        /// The shell's exit code, when it exited.
        var exitCode: Int32?
        /// The signal that killed the shell, when one did.
        var signal: Int32?
        /// It was still running at the deadline and was killed.
        var timedOut = false
        /// The last bytes of its output (stdout and stderr together).
        var outputTail: [UInt8] = []

        var succeeded: Bool { exitCode == 0 }

        /// `exited with code 1`, `not found (sh exited 127): …`.
        var reason: String {
            if timedOut { return "still running at the deadline; killed" }
            if let signal { return "killed by \(Signal(signal).name)" }
            let code = exitCode ?? -1
            // sh's own "not found" is exit 127; its message names the missing command.
            if code == 127 { return "command not found (sh exited 127)" + (lastLine.map { ": " + $0 } ?? "") }
            if code == 126 { return "command not executable (sh exited 126)" + (lastLine.map { ": " + $0 } ?? "") }
            return "exited with code \(code)" + (lastLine.map { ": " + $0 } ?? "")
        }

        /// The last non-empty output line, escaped for a terminal.
        var lastLine: String? {
            let lines = outputTail.split(separator: UInt8(ascii: "\n"))
            return lines.last.map { TerminalText.escaped(bytes: $0) }
        }
    }

    static let tailLimit = 4096

    /// The command text as given.
    let command: String
    /// `KEY=value` entries of this process's environment, without the two this step sets.
    private let inheritedEnvironment: [String]

    init(command: String) {
        self.command = command
        inheritedEnvironment = ProcessInfo.processInfo.environment
            .filter { $0.key != "SHAKEDOWN_REPETITION" && $0.key != Seed.environmentVariable }
            .map { "\($0.key)=\($0.value)" }
    }

    /// Runs the step for `repetition` with `seed`, waiting at most `timeout`.
    /// - Throws: ``ShakedownError`` when the pipe or the spawn fails.
    func run(repetition: Int, seed: Seed, timeout: Duration) throws(ShakedownError) -> Result {
        let pipe = try Pipe()
        let fds = [pipe.readEnd, pipe.writeEnd]
        defer { close(fds[0]) }
        let environment = inheritedEnvironment + ["SHAKEDOWN_REPETITION=\(repetition)", "\(Seed.environmentVariable)=\(seed.value)"]
        let pid: pid_t
        do throws(ShakedownError) { pid = try spawn(output: fds[1], environment: environment) } catch {
            close(fds[1])
            throw error
        }
        close(fds[1])
        StepInterruption.guardGroup(pid)
        defer { StepInterruption.release() }
        return collect(pid: pid, output: fds[0], deadline: timeout.deadline(after: monotonicNanoseconds()))
    }

    private func spawn(output: Int32, environment: [String]) throws(ShakedownError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        // Nothing else of ours leaks into the step: a descriptor it kept open (a pipe our own parent waits on)
        // would outlive us through whatever the step leaves behind. (closefrom_np needs _GNU_SOURCE.)
        for fd in Self.openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so whatever it starts can be stopped with it.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = (["/bin/sh", "-c", command] as [String]).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        if result != 0 { throw ShakedownError.systemCall("posix_spawn(/bin/sh)", errno: .init(rawValue: result)) }
        return pid
    }

    /// This process's open descriptors, from /proc/self/fd (the listing's own descriptor excluded).
    private static func openDescriptors() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var result: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd != own { result.append(fd) }
        }
        return result
    }

    /// Reads output until the shell exits or the deadline passes; then stops its group and reaps it.
    private func collect(pid: pid_t, output: Int32, deadline: Int64) -> Result {
        var result = Result()
        var buffer = [UInt8](repeating: 0, count: 16384)
        var status: Int32 = 0
        var exited = false
        var open = true
        while !exited {
            let left = deadline - monotonicNanoseconds()
            if left <= 0 {
                result.timedOut = true
                kill(-pid, SIGKILL)
                break
            }
            if open {
                var entry = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, Int32(min(left / 1_000_000 + 1, 20)))
                open = drain(output, into: &result, buffer: &buffer)
            } else {
                usleep(1_000)
            }
            exited = Self.hasExited(pid)
        }
        // Stop whatever it left running in its group, then reap the shell. Until it is reaped its pid, which
        // names the group, cannot be reused, so the group kill cannot reach a stranger.
        kill(-pid, SIGKILL)
        StepLeftovers.stopped(group: pid)
        StepInterruption.release()
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        _ = drain(output, into: &result, buffer: &buffer)
        if !result.timedOut {
            if status & 0x7F == 0 { result.exitCode = (status >> 8) & 0xFF } else { result.signal = status & 0x7F }
        }
        return result
    }

    /// Whether the shell has exited, without reaping it (`WNOWAIT`).
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        // With WNOHANG and nothing to report, Linux leaves `info` as it was: zeroed, so si_signo says which.
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_signo == SIGCHLD
    }

    /// Reads what is there without blocking; `false` at end of file.
    private func drain(_ fd: Int32, into result: inout Result, buffer: inout [UInt8]) -> Bool {
        while true {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 0) > 0 else { return true }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            result.outputTail += buffer[..<count]
            if result.outputTail.count > Self.tailLimit { result.outputTail.removeFirst(result.outputTail.count - Self.tailLimit) }
        }
    }
}

/// A step runs in its own process group, which the terminal's Ctrl-C does not reach: while one runs, SIGINT,
/// SIGTERM and SIGHUP to shakedown first kill that group, then take their default action. The handlers are
/// installed only while a step runs, so the run's own forks never inherit them.
enum StepInterruption {
    private static let group = Atomic<Int32>(0)
    private static let signals = [SIGINT, SIGTERM, SIGHUP]

    static func guardGroup(_ pgid: pid_t) {
        group.store(pgid, ordering: .sequentiallyConsistent)
        for number in signals { signal(number, handler) }
    }

    /// Called before the step's shell is reaped, so the group id cannot have been reused when a handler uses it.
    static func release() {
        for number in signals { signal(number, SIG_DFL) }
        group.store(0, ordering: .sequentiallyConsistent)
    }

    // Async-signal-safe: an atomic load, kill, signal and raise.
    private static let handler: @convention(c) (Int32) -> Void = { number in
        let pgid = StepInterruption.group.load(ordering: .sequentiallyConsistent)
        if pgid > 0 { kill(-pgid, SIGKILL) }
        signal(number, SIG_DFL)
        raise(number)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// What a command did: the `subprocess.run(..., capture_output=True)` result, plus what a test wants to check.
public struct CommandResult: Equatable, Sendable {
    /// The command's process id (also its process group id).
    public var pid: Int32
    /// How it ended. After a timeout: killed by SIGKILL.
    public var exit: ProcessExit
    /// Everything it wrote to stdout (up to the output limit).
    public var standardOutput: [UInt8]
    /// Everything it wrote to stderr (up to the output limit).
    public var standardError: [UInt8]
    /// Whether the timeout ran out and the command's process group was killed.
    public var timedOut: Bool
    /// Whether output beyond the limit was read and dropped.
    public var outputTruncated: Bool

    /// stdout as UTF-8 text (invalid bytes replaced).
    public var outputText: String { String(decoding: standardOutput, as: UTF8.self) }
    /// stderr as UTF-8 text (invalid bytes replaced).
    public var errorText: String { String(decoding: standardError, as: UTF8.self) }
}

/// Runs a command and captures its output, exit status and pid — from the test process or from inside a forked
/// worker (a ``ForkedChild``, a ``ProcessPool`` task, a `Shake.fork` body).
///
/// Why not `Foundation.Process`: in a forked child its `waitUntilExit()` waits for a run loop that no thread runs
/// there, and hangs (docs/guide.md, "Fork safety", has the measurement). Why not swift-subprocess: its `run` is
/// `async`, and in a child forked from a process that already used Swift concurrency no task executor thread
/// exists, so the await never resumes (same section). This runner is synchronous and uses only `fork`, `execve`,
/// `poll`, `read` and `waitpid` on known pids: it never reaps another child's status, and needs no thread.
///
/// The command leads a new process group; when the timeout runs out the whole group (the command and what it
/// started) gets SIGKILL, and when the command exits, anything it left in its group is killed too, so no
/// process outlives the call (processes that left the group with `setsid` are outside its reach).
///
/// Cost: one fork of the calling process plus exec; two pipes and a pidfd for the duration of the call.
public enum CommandRunner {
    /// Runs `arguments[0]` (searched in `PATH` when it has no slash) with the rest as its arguments.
    /// - Parameters:
    ///   - arguments: the program and its arguments (no shell); must not be empty.
    ///   - environment: `NAME=value` entries; `nil`: the caller's environment.
    ///   - directory: the working directory; `nil`: the caller's.
    ///   - timeout: the longest it may run (positive) before its group is killed.
    ///   - outputLimit: bytes kept per stream (0 ... 1 GiB); the rest is read and dropped.
    /// - Throws: `.invalidArgument` for an empty command, a non-positive timeout or a bad limit;
    ///   `.executableNotFound` when exec fails (exit 127 with nothing on stderr); `.systemCall` for failed
    ///   `pipe2`, `fork`, `pidfd_open` or `poll`. A non-zero exit is a result, not an error.
    public static func run(_ arguments: [String], environment: [String]? = nil, directory: String? = nil,
                           timeout: Duration = .seconds(60), outputLimit: Int = 16 << 20) throws(ShakedownError) -> CommandResult {
        guard let executable = arguments.first, !executable.isEmpty else {
            throw .invalidArgument("arguments", "the command is empty")
        }
        guard timeout > .zero else { throw .invalidArgument("timeout", "must be positive, got \(timeout)") }
        guard outputLimit >= 0, outputLimit <= 1 << 30 else {
            throw .invalidArgument("outputLimit", "must be between 0 and \(1 << 30), got \(outputLimit)")
        }
        let deadline = try Deadline(after: timeout)
        let output = try Pipe()
        let errors: Pipe
        do { errors = try Pipe() } catch { closeQuietly(output.readEnd); closeQuietly(output.writeEnd); throw error }
        let pid = spawn(executable, arguments, environment ?? ProcessEnvironment.current(), directory,
                        stdout: output.writeEnd, stderr: errors.writeEnd)
        closeQuietly(output.writeEnd)
        closeQuietly(errors.writeEnd)
        guard pid > 0 else {
            let failure = ShakedownError.systemCall("fork")
            closeQuietly(output.readEnd); closeQuietly(errors.readEnd)
            throw failure
        }
        var capture = CommandCapture(pid: pid, stdout: output.readEnd, stderr: errors.readEnd, limit: outputLimit)
        defer { capture.closeDescriptors() }
        let result = try capture.collect(until: deadline)
        if result.exit == .exited(code: 127) && result.standardError.isEmpty && result.standardOutput.isEmpty {
            throw ShakedownError(.executableNotFound(executable))
        }
        return result
    }

    /// Builds the C strings before the fork, so the child only calls async-signal-safe functions.
    private static func spawn(_ executable: String, _ arguments: [String], _ environment: [String], _ directory: String?,
                              stdout: CInt, stderr: CInt) -> Int32 {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        fflush(nil)
        return executable.withCString { path in
            if let directory {
                return directory.withCString { shakedown_spawn_captured(path, argv, envp, stdout, stderr, $0) }
            }
            return shakedown_spawn_captured(path, argv, envp, stdout, stderr, nil)
        }
    }

}

/// The reading and waiting half of ``CommandRunner/run(_:environment:directory:timeout:outputLimit:)``.
struct CommandCapture {
    let pid: Int32
    var stdout: CInt
    var stderr: CInt
    let limit: Int
    var exitDescriptor: CInt = -1
    var captured: [[UInt8]] = [[], []]
    var truncated = false

    init(pid: Int32, stdout: CInt, stderr: CInt, limit: Int) {
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.limit = limit
    }

    mutating func closeDescriptors() {
        closeQuietly(stdout); closeQuietly(stderr); closeQuietly(exitDescriptor)
        stdout = -1; stderr = -1; exitDescriptor = -1
    }

    /// Reads both streams until the command exits (its pidfd turns readable) or the deadline passes; then kills
    /// what is left of its group and reaps it.
    mutating func collect(until deadline: Deadline) throws(ShakedownError) -> CommandResult {
        exitDescriptor = shakedown_pidfd_open(pid)
        if exitDescriptor < 0 {
            let failure = ShakedownError.systemCall("pidfd_open")
            killGroupAndReap()
            throw failure
        }
        var timedOut = false
        var exited = false
        while !exited {
            if deadline.hasPassed { timedOut = true; break }
            var entries = [stdout, stderr, exitDescriptor].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&entries, 3, deadline.pollMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                let failure = ShakedownError.systemCall("poll")
                killGroupAndReap()
                throw failure
            }
            for stream in 0..<2 where entries[stream].revents != 0 { drain(stream) }
            exited = entries[2].revents != 0
        }
        // What the command wrote just before exiting is still in the pipes: read it (non-blocking).
        for stream in 0..<2 { drain(stream, nonBlocking: true) }
        let exit = killGroupAndReap()
        return CommandResult(pid: pid, exit: timedOut ? .signaled(.kill) : exit, standardOutput: captured[0],
                             standardError: captured[1], timedOut: timedOut, outputTruncated: truncated)
    }

    /// Reads what is available on stream 0 (stdout) or 1 (stderr); a closed stream's descriptor becomes -1.
    private mutating func drain(_ stream: Int, nonBlocking: Bool = false) {
        let fd = stream == 0 ? stdout : stderr
        guard fd >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            if nonBlocking {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&entry, 1, 0) <= 0 { return }
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                closeQuietly(fd)
                if stream == 0 { stdout = -1 } else { stderr = -1 }
                return
            }
            let room = max(0, limit - captured[stream].count)
            captured[stream] += chunk[0..<min(count, room)]
            if count > room { truncated = true }
            if !nonBlocking { return }
        }
    }

    /// SIGKILL to the command's group (its leader is not reaped yet, so the group id cannot have been reused),
    /// then reaps the leader, and, when this process is a subreaper, the group members it adopted.
    @discardableResult
    private func killGroupAndReap() -> ProcessExit {
        _ = kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if shakedown_get_child_subreaper() == 1 { reapAdoptedMembers() }
        return ProcessExit(waitStatus: status)
    }

    /// Members of the killed group that were re-parented to this (subreaper) process.
    private func reapAdoptedMembers() {
        for child in ProcessTable.children(of: getpid()) where getpgid(child) == pid || getpgid(child) < 0 {
            var status: Int32 = 0
            if getpgid(child) == pid { _ = kill(child, SIGKILL) }
            _ = waitpid(child, &status, 0)
        }
    }
}

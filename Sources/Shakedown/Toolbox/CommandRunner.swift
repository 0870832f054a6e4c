#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import SystemPackage

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
    /// - Throws: `.invalidArgument` for an empty command, a NUL byte in an argument, environment entry or
    ///   directory, a non-positive timeout or a bad limit; `.executableNotFound` when exec finds no such file
    ///   (ENOENT, EACCES, ENOTDIR); `.systemCall` for a failed `execve` (other errno), `chdir` into `directory`,
    ///   `pipe2`, `fork`, `pidfd_open` or `poll`. The child says which step failed through a close-on-exec pipe,
    ///   so a command that itself exits 127 is a result, not an error. A non-zero exit is a result.
    public static func run(_ arguments: [String], environment: [String]? = nil, directory: String? = nil,
                           timeout: Duration = .seconds(60), outputLimit: Int = 16 << 20) throws(ShakedownError) -> CommandResult {
        guard let executable = arguments.first, !executable.isEmpty else {
            throw .invalidArgument("arguments", "the command is empty")
        }
        guard timeout > .zero else { throw .invalidArgument("timeout", "must be positive, got \(timeout)") }
        guard outputLimit >= 0, outputLimit <= 1 << 30 else {
            throw .invalidArgument("outputLimit", "must be between 0 and \(1 << 30), got \(outputLimit)")
        }
        // A NUL would end the C string early: a different command would run, silently.
        if let index = arguments.firstIndex(where: { $0.utf8.contains(0) }) {
            throw .invalidArgument("arguments", "argument \(index) contains a NUL byte, which a C argument cannot hold")
        }
        if let entry = environment?.first(where: { $0.utf8.contains(0) }) {
            throw .invalidArgument("environment", "the entry \(entry.debugDescription) contains a NUL byte")
        }
        if let directory, directory.utf8.contains(0) {
            throw .invalidArgument("directory", "\(directory.debugDescription) contains a NUL byte")
        }
        let deadline = try Deadline(after: timeout)
        let pipes = try Self.makePipes()
        let pid = spawn(executable, arguments, environment ?? ProcessEnvironment.current(), directory,
                        stdout: pipes.output.writeEnd, stderr: pipes.errors.writeEnd, startFailure: pipes.start.writeEnd)
        for fd in [pipes.output.writeEnd, pipes.errors.writeEnd, pipes.start.writeEnd] { closeQuietly(fd) }
        guard pid > 0 else {
            let failure = ShakedownError.systemCall("fork")
            for fd in [pipes.output.readEnd, pipes.errors.readEnd, pipes.start.readEnd] { closeQuietly(fd) }
            throw failure
        }
        var capture = CommandCapture(pid: pid, stdout: pipes.output.readEnd, stderr: pipes.errors.readEnd, limit: outputLimit)
        defer { capture.closeDescriptors() }
        let result: CommandResult
        do { result = try capture.collect(until: deadline) } catch {
            closeQuietly(pipes.start.readEnd)
            throw error
        }
        // The child writes here only when it could not start the command, before it exits; read once it is reaped.
        let startFailure = Self.readStartFailure(pipes.start.readEnd)
        closeQuietly(pipes.start.readEnd)
        if let (step, code) = startFailure {
            switch step {
            case UInt8(ascii: "e") where code == ENOENT || code == EACCES || code == ENOTDIR:
                throw ShakedownError(.executableNotFound(executable))
            case UInt8(ascii: "e"): throw .systemCall("execve", errno: Errno(rawValue: code))
            case UInt8(ascii: "c"): throw .systemCall("chdir", errno: Errno(rawValue: code))
            default: throw .systemCall("dup2", errno: Errno(rawValue: code))
            }
        }
        return result
    }

    /// stdout, stderr and the start-failure pipe, all close-on-exec; none left open when one fails.
    private static func makePipes() throws(ShakedownError) -> (output: Pipe, errors: Pipe, start: Pipe) {
        var made: [Pipe] = []
        do throws(ShakedownError) {
            for _ in 0..<3 { made.append(try Pipe()) }
        } catch {
            for pipe in made { closeQuietly(pipe.readEnd); closeQuietly(pipe.writeEnd) }
            throw error
        }
        return (made[0], made[1], made[2])
    }

    /// The step ('d', 'c' or 'e') and errno the child reported, or nil when it wrote nothing (the exec
    /// succeeded). Called after the child was reaped, and never blocks: a process forked meanwhile by another
    /// thread may hold the write end open, so end of file cannot be waited for. The record is smaller than
    /// PIPE_BUF, so it is in the pipe whole or not at all.
    private static func readStartFailure(_ fd: CInt) -> (step: UInt8, errno: CInt)? {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) > 0, entry.revents & Int16(POLLIN) != 0 else { return nil }
        var record = [UInt8](repeating: 0, count: 1 + MemoryLayout<CInt>.size)
        var filled = 0
        while filled < record.count {
            let count = record.withUnsafeMutableBytes { read(fd, $0.baseAddress.map { $0 + filled }, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            filled += count
        }
        guard filled == record.count else { return nil }
        let code = record.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 1, as: CInt.self) }
        return (record[0], code)
    }

    /// Builds the C strings before the fork, so the child only calls async-signal-safe functions.
    private static func spawn(_ executable: String, _ arguments: [String], _ environment: [String], _ directory: String?,
                              stdout: CInt, stderr: CInt, startFailure: CInt) -> Int32 {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        fflush(nil)
        return executable.withCString { path in
            if let directory {
                return directory.withCString {
                    shakedown_spawn_captured_reporting(path, argv, envp, stdout, stderr, $0, startFailure)
                }
            }
            return shakedown_spawn_captured_reporting(path, argv, envp, stdout, stderr, nil, startFailure)
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

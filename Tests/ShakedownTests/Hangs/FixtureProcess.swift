#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

struct FixtureFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A fixture executable started with posix_spawn (not Foundation.Process, whose reaper would race the inspector
/// for wait statuses of its own child), with a pipe on its stdin and stdout. `stop()` kills and reaps it; tests
/// register it as a teardown block so nothing outlives a failing test (the fixtures also die with their parent).
final class FixtureProcess {
    let pid: pid_t
    private var output: CInt
    private var input: CInt
    private var buffered: [UInt8] = []
    private(set) var exitStatus: CInt?

    convenience init(_ name: String, _ arguments: [String] = []) throws {
        try self.init(path: Fixtures.path(name), arguments)
    }

    init(path: String, _ arguments: [String] = []) throws {
        guard access(path, X_OK) == 0 else { throw FixtureFailure("not an executable: \(path)") }
        var outputPipe: [CInt] = [-1, -1]
        var inputPipe: [CInt] = [-1, -1]
        guard pipe(&outputPipe) == 0, pipe(&inputPipe) == 0 else { throw FixtureFailure("pipe failed") }
        for descriptor in outputPipe + inputPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, &argv, environ)
        close(outputPipe[1])
        close(inputPipe[0])
        guard result == 0 else {
            close(outputPipe[0])
            close(inputPipe[1])
            throw FixtureFailure("posix_spawn(\(path)) failed: \(result)")
        }
        self.pid = pid
        output = outputPipe[0]
        input = inputPipe[1]
    }

    deinit { stop() }

    /// The next line of standard output, waiting at most `timeout` (generous: a loaded machine is slow, not broken).
    func readLine(timeout: Duration = .seconds(120)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw FixtureFailure("no line from pid \(pid) in time") }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 100) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(output, &chunk, chunk.count)
            if count == 0 { throw FixtureFailure("pid \(pid) closed its output") }
            if count > 0 { buffered += chunk[0..<count] }
        }
    }

    /// The process ids printed on the first line.
    func readPIDs() throws -> [pid_t] {
        let line = try readLine()
        let pids = line.split(separator: " ").compactMap { pid_t($0) }
        guard !pids.isEmpty else { throw FixtureFailure("expected pids, got \(line.debugDescription)") }
        return pids
    }

    /// Everything left on standard output, up to end of file.
    func readToEnd(timeout: Duration = .seconds(120)) throws -> String {
        var lines: [String] = []
        while true {
            do {
                lines.append(try readLine(timeout: timeout))
            } catch let failure as FixtureFailure where failure.description.hasSuffix("closed its output") {
                let rest = String(decoding: buffered, as: UTF8.self)
                buffered.removeAll()
                return (lines + (rest.isEmpty ? [] : [rest])).joined(separator: "\n")
            }
        }
    }

    func write(_ text: String) {
        _ = text.withCString { Glibc.write(input, $0, strlen($0)) }
    }

    /// Waits for the process to exit and returns its wait status.
    func waitForExit(timeout: Duration = .seconds(120)) throws -> CInt {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: CInt = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = status
                return status
            }
            usleep(2_000)
        }
        throw FixtureFailure("pid \(pid) did not exit in time")
    }

    /// Kills (SIGKILL) and reaps the process; idempotent.
    func stop() {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: CInt = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            exitStatus = status
        }
        if output >= 0 { close(output); output = -1 }
        if input >= 0 { close(input); input = -1 }
    }
}

extension XCTestCase {
    /// Starts a fixture that is killed and reaped when the test ends, whatever happens.
    func startFixture(_ name: String, _ arguments: [String] = []) throws -> FixtureProcess {
        let process = try FixtureProcess(name, arguments)
        addTeardownBlock { process.stop() }
        return process
    }

    /// Runs an executable to its end; returns its standard output and exit code.
    func run(_ path: String, _ arguments: [String]) throws -> (output: String, exitCode: CInt) {
        let process = try FixtureProcess(path: path, arguments)
        addTeardownBlock { process.stop() }
        let output = try process.readToEnd()
        let status = try process.waitForExit()
        return (output, (status >> 8) & 0xff)
    }

    /// Evaluates `body` until it returns a value, for at most `timeout`; fails with `message` otherwise. For
    /// conditions that become true once a fixture reaches its blocking point — a bound, not a timing assertion.
    func eventually<T>(_ message: String, timeout: Duration = .seconds(120), _ body: () throws -> T?) throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = try body() { return value }
            if ContinuousClock.now > deadline { throw FixtureFailure("timed out waiting: \(message)") }
            usleep(10_000)
        }
    }

    /// The one-letter states of every thread of `pid`, from /proc.
    func threadStates(_ pid: pid_t) -> [pid_t: String] {
        var states: [pid_t: String] = [:]
        guard let directory = opendir("/proc/\(pid)/task") else { return [:] }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let tid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            states[tid] = String(stat[stat.index(close, offsetBy: 2)])
        }
        return states
    }
}

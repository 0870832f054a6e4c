// Overhead of the `syscalls` and `pct` modes per controlled system call (issue 9: "overhead of syscalls per
// controlled call measured and reported").
// Usage: swift build -c release && .build/release/shakedown-benchmarks syscalls [--calls N] [--repetitions R]
// A copy (a forked child of this process) makes N 8-byte pwrite calls to a scratch file and times them itself
// (clock_gettime is a vDSO call, never filtered). Rows: no filter; the filter installed but pwrite not controlled
// (BPF cost only); pwrite controlled, one copy, every call released by the SyscallScheduler in this process (the
// round trip through the leader); and 4 copies under the scheduler, wall time of the run per call (the copies run
// one at a time between controlled calls). Medians over R repetitions, with the range.
#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Shakedown

private enum FilterSetup {
    case none
    case uncontrolled
    case controlled
}

/// Forks a copy that installs `setup`, hands its listener over `socket` when there is one, makes `calls` pwrites,
/// and writes its own nanoseconds per call to `result`. Returns its pid.
private func startCopy(_ setup: FilterSetup, calls: Int, file: CInt, socket: CInt, result: CInt) -> pid_t {
    let pid = fork()
    guard pid == 0 else { return pid }
    switch setup {
    case .none:
        break
    case .uncontrolled, .controlled:
        // getppid for the uncontrolled filter: a call the loop never makes.
        var numbers = setup == .controlled ? [shakedown_syscall_number("pwrite64")] : [shakedown_syscall_number("getppid")]
        let listener = shakedown_seccomp_install_listener(&numbers, 1)
        if listener < 0 || shakedown_send_descriptor(socket, listener) != 0 { _exit(71) }
        close(listener)
    }
    var value: Int64 = 0
    let start = benchmarkNanoseconds()
    for _ in 0..<calls {
        value &+= 1
        _ = pwrite(file, &value, 8, 0)
    }
    var perCall = Double(benchmarkNanoseconds() - start) / Double(calls)
    _ = write(result, &perCall, 8)
    _exit(0)
}

private func benchmarkNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// One sample: `copies` copies under `setup`; returns (median of the copies' own ns per call, wall ns per call of
/// the whole run).
private func sampleOverhead(_ setup: FilterSetup, copies: Int, calls: Int, seed: UInt64) throws -> (Double, Double) {
    var path = Array("/tmp/shakedown-syscall-bench-XXXXXX".utf8CString)
    let file = mkstemp(&path)
    guard file >= 0 else { throw ShakedownError.systemCall("mkstemp") }
    defer {
        close(file)
        unlink(path)
    }
    var sockets: [CInt] = [-1, -1]
    var results: [CInt] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sockets) == 0, pipe(&results) == 0 else {
        throw ShakedownError.systemCall("socketpair/pipe")
    }
    defer { for fd in sockets + results { close(fd) } }
    let scheduler = try SyscallScheduler(seed: Seed(seed), strategy: .random)
    let start = benchmarkNanoseconds()
    var pids: [pid_t] = []
    for _ in 0..<copies {
        let pid = startCopy(setup, calls: calls, file: file, socket: sockets[1], result: results[1])
        guard pid > 0 else { throw ShakedownError.systemCall("fork") }
        pids.append(pid)
        if setup != .none {
            let listener = shakedown_receive_descriptor(sockets[0])
            guard listener >= 0 else { throw ShakedownError.systemCall("recvmsg") }
            scheduler.add(pid: pid, listener: listener)
        }
    }
    if setup != .none { _ = scheduler.run(until: Int64.max) }
    for pid in pids {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw ShakedownError.invalidArgument("copy", "exited with status \(status)") }
    }
    let wall = Double(benchmarkNanoseconds() - start) / Double(calls * copies)
    var own: [Double] = []
    for _ in 0..<copies {
        var perCall = 0.0
        guard read(results[0], &perCall, 8) == 8 else { throw ShakedownError.systemCall("read") }
        own.append(perCall)
    }
    return (own.sorted()[own.count / 2], wall)
}

/// `shakedown-benchmarks syscalls`: the Markdown table on standard output.
func runSyscallOverheadBenchmark(_ arguments: [String]) {
    var calls = 20_000
    var repetitions = 11
    var index = 0
    while index < arguments.count {
        let value = index + 1 < arguments.count ? Int(arguments[index + 1]) : nil
        switch arguments[index] {
        case "--calls": calls = value.map { min(max($0, 100), 10_000_000) } ?? calls
        case "--repetitions": repetitions = value.map { min(max($0, 1), 1_000) } ?? repetitions
        default: fail("syscalls: unknown argument \(arguments[index]); usage: syscalls [--calls N] [--repetitions R]")
        }
        index += 2
    }
    if let reason = SyscallRunControl.unavailableReason() { fail("syscalls: \(reason)") }
    let rows: [(String, FilterSetup, Int)] = [
        ("no filter, 1 copy", .none, 1),
        ("filter installed, pwrite not controlled, 1 copy", .uncontrolled, 1),
        ("pwrite controlled, 1 copy (one round trip per call)", .controlled, 1),
        ("no filter, 4 copies", .none, 4),
        ("pwrite controlled, 4 copies (one at a time)", .controlled, 4),
    ]
    print("| setup | copy's own ns per pwrite (median, range) | run's wall ns per pwrite (median, range) |")
    print("|---|---|---|")
    for (name, setup, copies) in rows {
        var own: [Double] = []
        var wall: [Double] = []
        for repetition in 0..<repetitions {
            progress("syscalls: \(name), repetition \(repetition + 1) of \(repetitions)\n")
            do {
                let (ownSample, wallSample) = try sampleOverhead(setup, copies: copies, calls: calls, seed: UInt64(repetition))
                own.append(ownSample)
                wall.append(wallSample)
            } catch {
                fail("syscalls: \(name): \(error)")
            }
        }
        own.sort()
        wall.sort()
        func cell(_ values: [Double]) -> String {
            "\(Int(values[values.count / 2].rounded())) (\(Int(values[0].rounded()))–\(Int(values[values.count - 1].rounded())))"
        }
        print("| \(name) | \(cell(own)) | \(cell(wall)) |")
    }
    print("\n\(calls) pwrite calls per copy, \(repetitions) repetitions; command: `\(CommandLine.arguments.joined(separator: " "))`")
}

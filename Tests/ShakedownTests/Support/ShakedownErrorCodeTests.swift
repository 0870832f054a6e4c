import Shakedown
import XCTest

/// What a client outside the package writes: a `switch` over codes must have a `default:` branch (a later kind falls
/// into it instead of breaking the build), and it still names every kind it cares about.
private func clientExitStatus(for error: ShakedownError) -> Int32 {
    switch error.code {
    case .noSuchProcess: return 3
    case .permissionDenied: return 4
    case .invalidArgument: return 64
    case .systemCall where error.errno == .noMemory: return 71
    default: return 70
    }
}

/// `ShakedownError.Code` is a struct compared by kind; the details are properties of the error. Only the public API
/// is used (no `@testable`), as a client would.
final class ShakedownErrorCodeTests: XCTestCase {
    func testCodesCompareByKindAndErrorsByDetails() {
        let fork = ShakedownError.systemCall("fork", errno: .noMemory)
        let mmap = ShakedownError.systemCall("mmap", errno: .badFileDescriptor)
        XCTAssertEqual(fork.code, mmap.code)
        XCTAssertEqual(fork.code, .systemCall)
        XCTAssertNotEqual(fork, mmap)
        XCTAssertEqual(fork, .systemCall("fork", errno: .noMemory))
        XCTAssertNotEqual(fork.code, ShakedownError.noSuchProcess(pid: 1).code)
        XCTAssertEqual(Set([fork.code, mmap.code, ShakedownError.noSuchProcess(pid: 1).code]).count, 2)
        XCTAssertEqual("\(fork.code)", "systemCall")
    }

    func testAClientSwitchWithDefaultSeesEveryKind() {
        XCTAssertEqual(clientExitStatus(for: .noSuchProcess(pid: 7)), 3)
        XCTAssertEqual(clientExitStatus(for: .permissionDenied(pid: 7, reason: "ptrace_scope")), 4)
        XCTAssertEqual(clientExitStatus(for: .invalidArgument("processes", "must be at least 1")), 64)
        XCTAssertEqual(clientExitStatus(for: .systemCall("fork", errno: .noMemory)), 71)
        XCTAssertEqual(clientExitStatus(for: .systemCall("fork", errno: .resourceTemporarilyUnavailable)), 70)
        XCTAssertEqual(clientExitStatus(for: .malformedData(source: "queue", reason: "short")), 70)
        XCTAssertEqual(clientExitStatus(for: .executableNotFound("nope")), 70)
    }

    func testARealRejectedArgumentNamesItThroughProperties() {
        XCTAssertThrowsError(try Shake.fork(processes: 0) { _ in }) { error in
            guard let error = error as? ShakedownError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertEqual(error.argumentName, "processes")
            XCTAssertEqual(error.description, "invalid argument `processes`: \(error.reason ?? "<no reason>")")
            XCTAssertNil(error.systemCall)
            XCTAssertNil(error.errno)
            XCTAssertNil(error.pid)
        }
    }

    func testARealFailedSystemCallNamesTheCallAndErrno() throws {
        let mutex = try ProcessMutex(name: "not-locked")
        XCTAssertThrowsError(try mutex.unlock()) { error in
            guard let error = error as? ShakedownError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .systemCall)
            XCTAssertEqual(error.systemCall, "pthread_mutex_unlock")
            XCTAssertEqual(error.errno, .notPermitted)
            XCTAssertEqual(error.description, "pthread_mutex_unlock failed: EPERM (Operation not permitted, errno 1)")
            XCTAssertNil(error.argumentName)
            XCTAssertNil(error.reason)
        }
    }

    func testARealMissingProcessNamesThePid() {
        let pid: Int32 = 2_000_000_000  // above any pid_max (at most 2^22)
        XCTAssertThrowsError(try HangInspector().capture(pid: pid)) { error in
            guard let error = error as? ShakedownError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .noSuchProcess)
            XCTAssertEqual(error.pid, pid)
            XCTAssertEqual(error.description, "no such process: 2000000000")
        }
    }

    func testEveryKindKeepsItsDescriptionText() {
        XCTAssertEqual(ShakedownError.invalidArgument("rounds", "must be at least 1, got 0").description,
                       "invalid argument `rounds`: must be at least 1, got 0")
        XCTAssertEqual(ShakedownError.systemCall("send", errno: .brokenPipe).description,
                       "send failed: EPIPE (Broken pipe, errno 32)")
        XCTAssertEqual(ShakedownError.noSuchProcess(pid: 42).description, "no such process: 42")
        let denied = ShakedownError.permissionDenied(pid: 42, reason: "set kernel.yama.ptrace_scope to 0")
        XCTAssertEqual(denied.description, "permission denied for process 42: set kernel.yama.ptrace_scope to 0")
        XCTAssertEqual(denied.pid, 42)
        XCTAssertEqual(denied.reason, "set kernel.yama.ptrace_scope to 0")
        let malformed = ShakedownError.malformedData(source: "environment", reason: "not numbers")
        XCTAssertEqual(malformed.description, "malformed data from environment: not numbers")
        XCTAssertEqual(malformed.dataSource, "environment")
        let missing = ShakedownError.executableNotFound("/no/such/tool")
        XCTAssertEqual(missing.description, "executable not found: /no/such/tool")
        XCTAssertEqual(missing.executable, "/no/such/tool")
        XCTAssertNil(missing.reason)
    }
}

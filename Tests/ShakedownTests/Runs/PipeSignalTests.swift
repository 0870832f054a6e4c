#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// The test process told a leader that had just exited to tear down, and died of SIGPIPE (seen once under load
/// in FaultMatrixTests.testFatalError: exit by signal 13).
final class PipeSignalTests: XCTestCase {
    func testWritingToAGoneReaderFailsInsteadOfKillingTheTestProcess() throws {
        var ends: [CInt] = [-1, -1]
        XCTAssertEqual(Glibc.pipe(&ends), 0)
        closeQuietly(ends[0])
        XCTAssertFalse(writeAllWithoutSIGPIPE(ends[1], [1, 2, 3]))
        var pending = sigset_t()
        sigpending(&pending)
        XCTAssertEqual(sigismember(&pending, SIGPIPE), 0, "no SIGPIPE left pending")
        var mask = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &mask)
        XCTAssertEqual(sigismember(&mask, SIGPIPE), 0, "the thread's mask is restored")
        closeQuietly(ends[1])
    }
}

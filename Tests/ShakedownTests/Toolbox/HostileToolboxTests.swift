#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// The toolbox under a hostile user: shared state scribbled over by a worker, peers that stop reading.
final class HostileToolboxTests: XCTestCase {
    /// A worker with a wild pointer overwrites the shared object's header (its active index and length). Reading
    /// used to index and copy outside the region from the garbage (a crash in the test process, or other bytes
    /// decoded as the value); now every read names what is wrong, and `set` repairs it.
    func testGarbageHeaderWrittenByAWorkerIsReportedNotReadOutOfBounds() throws {
        let object = try SharedObject(["a": 1], maximumBytes: 256)
        // (false, x): the active index becomes x; (true, x): the active buffer's length becomes x.
        for (isLength, garbage) in [(false, Int64(7)), (false, Int64(-3)), (true, Int64(1 << 40)), (true, Int64(-1))] {
            let run = try Shake.fork(processes: 1, timeout: .seconds(10), jitter: .none) { _ in
                object.header[isLength ? 1 + Int(object.header[0]) : 0] = garbage
            }
            XCTAssertTrue(run.isClean, run.summary)
            XCTAssertThrowsError(try object.read(), "\(isLength ? "length" : "index") = \(garbage)") { error in
                XCTAssertEqual((error as? ShakedownError)?.code, .malformedData, "\(error)")
                XCTAssertTrue("\(error)".contains("overwritten"), "\(error)")
            }
            XCTAssertThrowsError(try object.update { $0["b"] = 2 }, "an update must not commit over garbage")
            XCTAssertEqual(object.encodedBytes, 0)
            try object.set(["a": 1])
            XCTAssertEqual(try object.read(), ["a": 1])
        }
    }

    /// A worker scribbles over the queue's shared header (the slot size) and the length word of the queued item.
    /// `get` in the test process used to copy that length (1 MiB) into its buffer of `maximumItemBytes`: a heap
    /// overflow, or a crash reading past the region. Now it copies at most its own buffer's size, and what it got
    /// is a value or a clear malformed-data error.
    func testGarbageLengthsInTheQueueCannotOverflowTheReader() throws {
        let queue = try ProcessQueue<Int64>(capacity: 4, maximumItemBytes: 16)
        try queue.put(42)
        let run = try Shake.fork(processes: 1, timeout: .seconds(10), jitter: .none) { _ in
            let header = queue.storage.queue
            header.pointee.slot_bytes = .max
            let ring = UInt64(header.pointee.capacity + header.pointee.held_capacity)
            let slot = UnsafeMutableRawPointer(header + 1) + Int(header.pointee.head % ring) * Int(header.pointee.slot_stride)
            slot.storeBytes(of: UInt32(1 << 20), as: UInt32.self)
        }
        XCTAssertTrue(run.isClean, run.summary)
        do {
            _ = try queue.get(timeout: .zero)
        } catch {
            XCTAssertEqual(error.code, .malformedData, "\(error)")
        }
        XCTAssertEqual(queue.statistics.gets, 1)
        XCTAssertEqual(queue.count, 0)
    }

    /// A peer that stopped reading (stopped by a signal here): `send` of a message larger than the socket buffer
    /// blocked forever, with no way to bound it. `send(_:timeout:)` returns within its timeout; the half-sent
    /// message closes this end, so the peer sees end of file rather than a torn frame.
    func testSendToAPeerThatStoppedReadingEndsAtItsTimeout() throws {
        let pipe = try MessagePipe(maximumMessageBytes: 8 << 20)
        let child = try ForkedChild {
            let end = try pipe.childEnd()
            raise(SIGSTOP)
            withExtendedLifetime(end) {}
        }
        let end = try pipe.parentEnd()
        XCTAssertTrue(try end.send([1, 2, 3], timeout: .zero), "a small message fits the buffer at once")
        let started = monotonicNanoseconds()
        XCTAssertThrowsError(try end.send(String(repeating: "x", count: 2 << 20), timeout: .milliseconds(200))) { error in
            XCTAssertEqual(error as? ShakedownError, .systemCall("send", errno: .timedOut), "\(error)")
        }
        let elapsed = monotonicNanoseconds() - started
        XCTAssertGreaterThanOrEqual(elapsed, 190_000_000)
        XCTAssertLessThan(elapsed, 5_000_000_000)
        XCTAssertEqual(end.descriptor, -1, "the torn stream is closed")
        XCTAssertThrowsError(try end.send(1, timeout: .zero))
        XCTAssertThrowsError(try end.send(1, timeout: .seconds(-1)))
        child.send(.kill)
        XCTAssertNotNil(try child.join(timeout: .seconds(10)))
    }

    /// A command that itself exits 127 without output was reported as "executable not found" (the runner guessed
    /// from the status), and a bad working directory too. The child now says which step failed and its errno.
    func testCommandExitingWith127IsAResultAndStartFailuresNameTheirStep() throws {
        let result = try CommandRunner.run(["/bin/sh", "-c", "exit 127"])
        XCTAssertEqual(result.exit, .exited(code: 127))
        XCTAssertThrowsError(try CommandRunner.run(["/bin/true"], directory: "/no/such/directory-xyz")) { error in
            XCTAssertEqual(error as? ShakedownError, .systemCall("chdir", errno: .noSuchFileOrDirectory), "\(error)")
        }
        XCTAssertThrowsError(try CommandRunner.run(["/no/such/command-xyz"])) { error in
            XCTAssertEqual(error as? ShakedownError, .executableNotFound("/no/such/command-xyz"))
        }
        // Executable, but not a format the kernel runs (ENOEXEC): the errno, named with the call.
        var template = Array("/tmp/shakedown-not-a-program-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let path = String(cString: template)
        defer { unlink(path) }
        XCTAssertEqual(write(fd, "\u{7f}ELF not really", 16), 16)
        close(fd)
        XCTAssertEqual(chmod(path, 0o755), 0)
        XCTAssertThrowsError(try CommandRunner.run([path])) { error in
            XCTAssertEqual(error as? ShakedownError, .systemCall("execve", errno: .execFormatError), "\(error)")
        }
    }

    /// A NUL inside an argument used to cut it short in C: `echo "a\0rm"` ran `echo a`, silently.
    func testNulBytesInArgumentsAreRefusedNotTruncated() throws {
        for (arguments, environment, directory, name) in [
            (["/bin/echo", "a\u{0}b"], nil, nil, "arguments"),
            (["/bin/echo\u{0}x"], nil, nil, "arguments"),
            (["/bin/echo"], ["A=b\u{0}c"], nil, "environment"),
            (["/bin/echo"], nil, "/tmp\u{0}/x", "directory"),
        ] as [([String], [String]?, String?, String)] {
            XCTAssertThrowsError(try CommandRunner.run(arguments, environment: environment, directory: directory)) { error in
                XCTAssertEqual((error as? ShakedownError)?.argumentName, name, "\(error)")
            }
        }
    }

    /// A task forks a helper (no exec) and then crashes its worker. The helper inherits the worker's socket, so
    /// the pool never saw end of file: with no task timeout, `map` waited for as long as the helper lived (its
    /// whole timeout, an hour by default). The pool now watches each worker's exit itself (a pidfd).
    func testAWorkerThatDiesWhileItsChildHoldsTheSocketIsSeenAtOnce() throws {
        let helpers = try SharedArray(repeating: Int32(0), count: 1)
        let pool = try ProcessPool<Int, Int>(processes: 1) { input in
            if input == 1 {
                let helper = fork()
                if helper == 0 { sleep(20); _exit(0) }
                helpers[0] = helper
                abort()
            }
            return input * 10
        }
        defer {
            if helpers[0] > 0 {
                kill(helpers[0], SIGKILL)
                // Ours to reap only if this process is a subreaper (ECHILD otherwise): no zombie left for later tests.
                var status: Int32 = 0
                _ = waitpid(helpers[0], &status, 0)
            }
        }
        let started = monotonicNanoseconds()
        let results = try pool.map([0, 1, 2], timeout: .seconds(15))
        XCTAssertLessThan(monotonicNanoseconds() - started, 5_000_000_000, "waited on the helper, not the worker")
        XCTAssertEqual(results[0], .value(0))
        XCTAssertEqual(results[1], .crashed(.signaled(.abort)), "\(results)")
        XCTAssertEqual(results[2], .value(20))
        pool.close()
        XCTAssertTrue(try pool.join(timeout: .seconds(10)))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Issue 12, piece 7: every example in docs/examples runs as a real program and prints what it should.
final class ExamplesTests: XCTestCase {
    private func run(_ name: String, _ arguments: [String] = []) throws -> [String] {
        let result = try CommandRunner.run([Fixtures.path("shakedown-examples"), name] + arguments, timeout: .seconds(60))
        XCTAssertEqual(result.exit, .exited(code: 0), "\(name): \(result.outputText) \(result.errorText)")
        return result.outputText.split(separator: "\n").map(String.init)
    }

    func testTwoReaders() throws {
        let directory = temporaryDirectory()
        let first = directory + "/shakedown-example-\(getpid())-a.txt", second = directory + "/shakedown-example-\(getpid())-b.txt"
        defer { unlink(first); unlink(second) }
        try write("hello\n", to: first)
        try write(String(repeating: "x", count: 1000), to: second)
        XCTAssertEqual(try run("two-readers", [first, second]), ["\(first): 6 bytes", "\(second): 1000 bytes", "done"])
    }

    func testPoolSquares() throws {
        XCTAssertEqual(try run("pool-squares"), ["[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]"])
    }

    func testProducerConsumer() throws {
        XCTAssertEqual(try run("producer-consumer"), ["consumed 10 items in order: true, sum 55"])
    }

    func testPoisonPills() throws {
        XCTAssertEqual(try run("poison-pills"), ["join: done", "results: 20, each task once: true"])
    }

    func testLockedOutput() throws {
        let lines = try run("locked-output")
        XCTAssertEqual(Set(lines.dropLast()), Set((0..<10).map { "hello world \($0)" }), "every line whole")
        XCTAssertEqual(lines.count, 11)
        XCTAssertEqual(lines.last, "lock taken 10 times")
    }

    func testSemaphoreOfThree() throws {
        XCTAssertEqual(try run("semaphore-of-three"), ["most holders at once: 3"])
    }

    func testPipePingPong() throws {
        XCTAssertEqual(try run("pipe-ping-pong"), ["hits: 10, last by child, child: exit 0"])
    }

    func testSharedValueAndArray() throws {
        XCTAssertEqual(try run("shared-value-and-array"), ["3.1415927", "[0, -1, -2, -3, -4, -5, -6, -7, -8, -9]"])
    }

    func testSharedDictionaryAndList() throws {
        XCTAssertEqual(try run("shared-dictionary-and-list"), ["0.25: nil, 1: 1, 2: 2", "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]"])
    }

    func testSharedCounterObject() throws {
        XCTAssertEqual(try run("shared-counter-object"), ["value 400, per process [100, 100, 100, 100]"])
    }

    func testRunCommand() throws {
        XCTAssertEqual(try run("run-command"), [#"pid set, exit 4, stdout "hello\n", stderr "warning\n""#])
    }

    func testSerialVersusPool() throws {
        let lines = try run("serial-versus-pool")
        XCTAssertEqual(lines.count, 2)
        // "serial 1022 ms, pool of 2 528 ms": 20 × 50 ms sleeps; the pool must beat serial clearly.
        let numbers = (lines.first ?? "").split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        XCTAssertEqual(numbers.count, 3, lines.joined())
        guard numbers.count == 3 else { return }
        XCTAssertGreaterThanOrEqual(numbers[0], 1000, "serial: 20 × 50 ms")
        if numbers[1] > 1 { XCTAssertLessThan(Double(numbers[2]), Double(numbers[0]) * 0.8, lines.joined()) }
    }

    private func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    private func temporaryDirectory() -> String {
        getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    }
}

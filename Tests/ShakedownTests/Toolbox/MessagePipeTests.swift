#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Issue 12, piece 2: framed Codable messages between two real processes.
final class MessagePipeTests: XCTestCase {
    struct Ping: Codable, Equatable { var sequence: Int; var text: String }

    func testPingPongAcrossProcesses() throws {
        try assertLeavesNothingBehind {
            let pipe = try MessagePipe()
            let child = try ForkedChild {
                let end = try pipe.childEnd()
                while case let .message(ping) = try end.receive(Ping.self, timeout: .seconds(10)) {
                    try end.send(Ping(sequence: ping.sequence + 1, text: ping.text + "!"))
                }
            }
            let end = try pipe.parentEnd()
            XCTAssertEqual(try end.receive(Ping.self, timeout: .zero), .timedOut, "a zero timeout looks once")
            for sequence in stride(from: 0, to: 200, by: 2) {
                try end.send(Ping(sequence: sequence, text: "n\(sequence)"))
                XCTAssertEqual(try end.receive(Ping.self, timeout: .seconds(10)), .message(Ping(sequence: sequence + 1, text: "n\(sequence)!")))
            }
            end.close()
            XCTAssertEqual(try child.join(timeout: .seconds(10)), .exited(code: 0))
        }
    }

    func testPartialWritesNeverSplitAMessage() throws {
        // The child writes three frames byte by byte, pausing between bytes: every receive is whole.
        let pipe = try MessagePipe()
        let child = try ForkedChild {
            let end = try pipe.childEnd()
            var bytes: [UInt8] = []
            for text in ["one", String(repeating: "x", count: 3000), "three"] {
                bytes += try ToolboxFrame.encode(text, limit: 1 << 20, limitName: "test")
            }
            for byte in bytes {
                try end.sendFrame([byte])
                if byte % 7 == 0 { usleep(50) }
            }
        }
        let end = try pipe.parentEnd()
        XCTAssertEqual(try end.receive(String.self, timeout: .seconds(10)), .message("one"))
        XCTAssertEqual(try end.receive(String.self, timeout: .seconds(10)).value?.count, 3000)
        XCTAssertEqual(try end.receive(String.self, timeout: .seconds(10)), .message("three"))
        XCTAssertEqual(try end.receive(String.self, timeout: .seconds(10)), .endOfFile(partialBytes: 0))
        XCTAssertEqual(try child.join(timeout: .seconds(10)), .exited(code: 0))
    }

    func testPeerDeathIsEndOfFileEvenMidMessage() throws {
        let pipe = try MessagePipe()
        let child = try ForkedChild {
            let end = try pipe.childEnd()
            try end.sendFrame([100, 0, 0, 0, 1, 2])  // a header promising 100 bytes, then 2 of them
            Glibc.kill(getpid(), SIGKILL)
        }
        let end = try pipe.parentEnd()
        XCTAssertEqual(try end.receive(Int.self, timeout: .seconds(10)), .endOfFile(partialBytes: 6))
        XCTAssertEqual(try child.join(timeout: .seconds(10)), .signaled(.kill))
        XCTAssertThrowsError(try end.send(1)) { error in
            XCTAssertEqual(error as? ShakedownError, .systemCall("send", errno: .brokenPipe))
        }
    }

    func testBadInput() throws {
        let pipe = try MessagePipe(maximumMessageBytes: 64)
        let a = try pipe.parentEnd()
        XCTAssertThrowsError(try pipe.childEnd(), "an end is taken once per process")
        XCTAssertThrowsError(try a.send(String(repeating: "y", count: 100))) { error in
            XCTAssertTrue("\(error)".contains("maximumMessageBytes limit of 64 bytes"), "\(error)")
        }
        XCTAssertEqual(try a.receive(Int.self, timeout: .zero), .endOfFile(partialBytes: 0), "taking an end closes the other here")
        XCTAssertThrowsError(try a.receive(Int.self, timeout: .seconds(-1)))
        XCTAssertThrowsError(try MessagePipe(maximumMessageBytes: 0))
        a.close()
        XCTAssertThrowsError(try a.send(1))
    }

    func testGarbageIsMalformedData() throws {
        let pipe = try MessagePipe()
        let child = try ForkedChild { try pipe.childEnd().sendFrame([2, 0, 0, 0, 0xEE, 0xEE]) }
        let end = try pipe.parentEnd()
        XCTAssertThrowsError(try end.receive(Int.self, timeout: .seconds(10))) { error in
            guard (error as? ShakedownError)?.code == .malformedData else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try child.join(timeout: .seconds(10)), .exited(code: 0))
    }
}

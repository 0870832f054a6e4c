#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown
import CShakedown

/// The pipe's buffered framing: one `recv` may bring several messages or part of one; each receive still gets
/// exactly one whole message, and a peer that stops mid-message is end-of-file with the partial bytes counted.
/// Real connected sockets, in this process (so each split point is reached deterministically) or across a fork.
final class MessageFramingTests: XCTestCase {
    struct Ping: Codable, Equatable { var sequence: Int; var text: String }

    /// Two connected ends in this process.
    private func connectedEnds(limit: Int = MessagePipe.defaultMaximumMessageBytes) throws -> (MessageEndpoint, MessageEndpoint) {
        var fds: [CInt] = [-1, -1]
        XCTAssertEqual(shakedown_socket_pair(&fds), 0)
        return (MessageEndpoint(descriptor: fds[0], maximumMessageBytes: limit),
                MessageEndpoint(descriptor: fds[1], maximumMessageBytes: limit))
    }

    /// Three frames of different sizes as one byte stream, and where each frame ends in it.
    private func threeFrames() throws -> (bytes: [UInt8], ends: [Int]) {
        let frames = [try ToolboxFrame.encode(Ping(sequence: 7, text: "seven"), limit: 1 << 20, limitName: "test"),
                      try ToolboxFrame.encode(Ping(sequence: 8, text: String(repeating: "é", count: 60)), limit: 1 << 20, limitName: "test"),
                      try ToolboxFrame.encode(Ping(sequence: 9, text: ""), limit: 1 << 20, limitName: "test")]
        var ends: [Int] = []
        var bytes: [UInt8] = []
        for frame in frames {
            bytes += frame
            ends.append(bytes.count)
        }
        return (bytes, ends)
    }

    private let expected = [Ping(sequence: 7, text: "seven"), Ping(sequence: 8, text: String(repeating: "é", count: 60)),
                            Ping(sequence: 9, text: "")]

    /// Everything `end` has whole now, without waiting.
    private func drain(_ end: MessageEndpoint) throws -> (messages: [Ping], last: Received<Ping>) {
        var messages: [Ping] = []
        while true {
            let received = try end.receive(Ping.self, timeout: .zero)
            guard case let .message(ping) = received else { return (messages, received) }
            messages.append(ping)
        }
    }

    func testManyMessagesArriveInOneRead() throws {
        let (sender, receiver) = try connectedEnds()
        for value in 0..<100 { try sender.send(value) }
        for value in 0..<100 { XCTAssertEqual(try receiver.receive(Int.self, timeout: .seconds(5)), .message(value)) }
        XCTAssertEqual(receiver.reads, 1, "100 messages of 13 bytes were all in the socket: one recv takes them all")
        XCTAssertEqual(try receiver.receive(Int.self, timeout: .zero), .timedOut, "nothing left, and the peer is still open")
    }

    func testAFrameSplitAtEveryByteOffsetArrivesWhole() throws {
        let (bytes, ends) = try threeFrames()
        for split in 1..<bytes.count {
            let (sender, receiver) = try connectedEnds()
            try sender.sendFrame(Array(bytes[..<split]))
            let first = try drain(receiver)
            let wholeBefore = ends.filter { $0 <= split }.count
            XCTAssertEqual(first.messages, Array(expected[..<wholeBefore]), "split at \(split)")
            XCTAssertEqual(first.last, .timedOut, "split at \(split): a partial frame waits for its rest")
            try sender.sendFrame(Array(bytes[split...]))
            let second = try drain(receiver)
            XCTAssertEqual(first.messages + second.messages, expected, "split at \(split)")
            XCTAssertEqual(second.last, .timedOut)
        }
    }

    func testAPeerClosingAtEveryByteOffsetIsEndOfFileWithThePartialBytes() throws {
        let (bytes, ends) = try threeFrames()
        for cut in 0...bytes.count {
            let (sender, receiver) = try connectedEnds()
            if cut > 0 { try sender.sendFrame(Array(bytes[..<cut])) }
            sender.close()
            let result = try drain(receiver)
            let whole = ends.filter { $0 <= cut }
            XCTAssertEqual(result.messages, Array(expected[..<whole.count]), "cut at \(cut)")
            XCTAssertEqual(result.last, .endOfFile(partialBytes: cut - (whole.last ?? 0)), "cut at \(cut)")
        }
    }

    func testALargeMessageBetweenSmallOnesCrossesProcessesWhole() throws {
        try assertLeavesNothingBehind {
            let pipe = try MessagePipe()
            let big = String(repeating: "0123456789abcdef", count: 5 << 16)  // 5 MiB: past the socket buffer and the kept capacity
            let child = try ForkedChild {
                let end = try pipe.childEnd()
                for round in 0..<3 {
                    for value in 0..<100 { try end.send(Ping(sequence: value, text: "r\(round)")) }
                    try end.send(Ping(sequence: -1, text: big))
                }
                try end.send(Ping(sequence: 42, text: "last"))
            }
            let end = try pipe.parentEnd()
            for round in 0..<3 {
                for value in 0..<100 {
                    XCTAssertEqual(try end.receive(Ping.self, timeout: .seconds(20)), .message(Ping(sequence: value, text: "r\(round)")))
                }
                XCTAssertEqual(try end.receive(Ping.self, timeout: .seconds(20)).value?.text.count, big.count)
            }
            XCTAssertEqual(try end.receive(Ping.self, timeout: .seconds(20)), .message(Ping(sequence: 42, text: "last")))
            XCTAssertEqual(try end.receive(Ping.self, timeout: .seconds(20)), .endOfFile(partialBytes: 0))
            XCTAssertEqual(try child.join(timeout: .seconds(10)), .exited(code: 0))
        }
    }

    func testAHeaderOverTheLimitIsRefusedBeforeItsPayloadArrives() throws {
        let (sender, receiver) = try connectedEnds(limit: 64)
        try sender.sendFrame([0xE8, 0x03, 0, 0])  // claims 1000 bytes; none follow
        XCTAssertThrowsError(try receiver.receive(Int.self, timeout: .seconds(5))) { error in
            guard let error = error as? ShakedownError, error.code == .malformedData, let reason = error.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.contains("1000 bytes exceeds maximumMessageBytes 64"), reason)
        }
    }

    func testAFailedSendLeavesNothingBehindForTheNextOne() throws {
        struct Refuses: Encodable {
            struct Nope: Error {}
            func encode(to encoder: any Encoder) throws {
                var container = encoder.unkeyedContainer()
                try container.encode(1)
                throw Nope()
            }
        }
        let (sender, receiver) = try connectedEnds(limit: 64)
        XCTAssertThrowsError(try sender.send(String(repeating: "x", count: 100)))
        XCTAssertThrowsError(try sender.send(Refuses()))
        try sender.send(Ping(sequence: 1, text: "ok"))
        XCTAssertEqual(try receiver.receive(Ping.self, timeout: .seconds(5)), .message(Ping(sequence: 1, text: "ok")))
        XCTAssertEqual(try receiver.receive(Ping.self, timeout: .zero), .timedOut, "the refused values sent no bytes")
    }
}

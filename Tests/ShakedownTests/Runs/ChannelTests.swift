import XCTest
@testable import Shakedown

final class ChannelTests: XCTestCase {
    func testMessagesRoundTripInAnySplit() {
        let messages: [ChannelMessage] = [
            .failure(message: "x ≠ y", file: "/a/B.swift", line: 42, round: 7),
            .finished(rounds: 10, jitterPoints: 20, jitterActions: 5, jitterDigest: .max),
            .leftover(kind: .zombie, pid: 12, parent: 11, status: 0, command: "[sleep]", ageMilliseconds: 3),
            .orphan(pid: 99, worker: 2, command: "sleep 30", ageMilliseconds: 5, cleanup: 2, status: 15),
            .leaderDone,
        ]
        let bytes = messages.flatMap { $0.encoded() }
        for split in [1, 3, 7, bytes.count] {
            var decoder = ChannelDecoder()
            var offset = 0
            while offset < bytes.count {
                decoder.append(bytes[offset..<min(offset + split, bytes.count)])
                offset += split
            }
            decoder.finish()
            XCTAssertEqual(decoder.messages, messages, "split \(split)")
            XCTAssertNil(decoder.problem)
        }
    }

    func testLongStringsAreCutToFitOneAtomicPipeWrite() {
        let frame = ChannelMessage.threw(message: String(repeating: "é", count: 10_000), round: 0).encoded()
        XCTAssertLessThanOrEqual(frame.count, 4096)
        var decoder = ChannelDecoder()
        decoder.append(frame)
        guard case let .threw(message, _)? = decoder.messages.first else { return XCTFail("not decoded") }
        XCTAssertTrue(message.allSatisfy { $0 == "é" })
    }

    func testGarbageAndTruncationAreProblemsThatKeepEarlierMessages() {
        var decoder = ChannelDecoder()
        decoder.append(ChannelMessage.leaderDone.encoded())
        decoder.append([1, 0, 0, 0, 200, 0])  // unknown kind 200
        XCTAssertEqual(decoder.messages, [.leaderDone])
        XCTAssertTrue(decoder.problem?.contains("unknown message kind 200") ?? false, decoder.problem ?? "")

        var truncated = ChannelDecoder()
        truncated.append(ChannelMessage.commandStarted(pid: 5).encoded().dropLast(3))
        truncated.finish()
        XCTAssertTrue(truncated.problem?.contains("truncated") ?? false, truncated.problem ?? "")

        var short = ChannelDecoder()
        short.append([8, 0, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8] + [1, 2])  // commandStarted with 8 bytes, then junk
        XCTAssertEqual(short.messages, [.commandStarted(pid: Int64(bitPattern: 0x0807_0605_0403_0201))])
    }

    func testOutputCaptureKeepsTheTailAndFindsFailureLines() {
        var capture = OutputCapture(tailLimit: 16)
        capture.append(Array("noise\n/x/T.swift:9: error: -[M.T test] : XCTAssertTrue failed\nFatal error: bad\nend".utf8)[...])
        capture.finish()
        XCTAssertEqual(capture.failures.map(\.line), [9])
        XCTAssertEqual(capture.failures.first?.message, "XCTAssertTrue failed")
        XCTAssertEqual(capture.crashMessage, "Fatal error: bad")
        XCTAssertEqual(capture.tailText.utf8.count, 16)
        XCTAssertNil(OutputCapture.parseFailureLine(Array("error: no location".utf8)))
    }
}

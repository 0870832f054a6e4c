/// What a worker printed: the last bytes of its stdout and stderr (merged), and every line in the
/// `FILE:LINE: error: MESSAGE` form that XCTest prints for a failed assertion.
///
/// Only the tail is kept so a chatty worker costs bounded memory; failure lines are picked out as the bytes
/// stream by, so they are found even when the tail has long moved past them.
package struct OutputCapture {
    private let tailLimit: Int
    private var tail: [UInt8] = []
    private var partialLine: [UInt8] = []
    package private(set) var totalBytes = 0
    package private(set) var failures: [RecordedFailure] = []
    /// The first line in which the Swift runtime (or the C library) said why the process is dying.
    package private(set) var crashMessage: String?
    private static let crashMarkers = ["Fatal error:", "Precondition failed", "Assertion failed", "Unexpectedly found nil",
                                       "*** Program crashed:", "Aborted", "Segmentation fault"]
    private static let failureMarker = Array(": error: ".utf8)

    package init(tailLimit: Int) { self.tailLimit = tailLimit }

    package mutating func append(_ bytes: ArraySlice<UInt8>) {
        totalBytes += bytes.count
        tail += bytes
        if tail.count > tailLimit * 2 { tail.removeFirst(tail.count - tailLimit) }
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                scan(partialLine)
                partialLine.removeAll(keepingCapacity: true)
            } else if partialLine.count < 8192 {
                partialLine.append(byte)
            }
        }
    }

    package mutating func finish() {
        if !partialLine.isEmpty { scan(partialLine) }
        partialLine.removeAll()
    }

    /// The kept tail as text (invalid UTF-8 repaired).
    package var tailText: String {
        String(decoding: tail.suffix(tailLimit), as: UTF8.self)
    }

    private mutating func scan(_ line: [UInt8]) {
        if crashMessage == nil {
            let text = String(decoding: line, as: UTF8.self)
            if Self.crashMarkers.contains(where: { text.contains($0) }) { crashMessage = text }
        }
        guard let failure = Self.parseFailureLine(line) else { return }
        failures.append(failure)
    }

    /// Parses `/path/File.swift:42: error: -[Suite test] : XCTAssertEqual failed: ...`.
    package static func parseFailureLine(_ line: [UInt8]) -> RecordedFailure? {
        guard let markerStart = line.firstRange(of: failureMarker)?.lowerBound else { return nil }
        let location = line[..<markerStart]
        guard let colon = location.lastIndex(of: UInt8(ascii: ":")),
              let lineNumber = Int(String(decoding: location[(colon + 1)...], as: UTF8.self)),
              colon > location.startIndex
        else { return nil }
        let file = String(decoding: location[..<colon], as: UTF8.self)
        guard file.hasPrefix("/") || file.contains(".swift") else { return nil }
        var message = String(decoding: line[(markerStart + failureMarker.count)...], as: UTF8.self)
        // XCTest prefixes the test's name: "-[Module.Case testName] : ".
        if message.hasPrefix("-["), let end = message.firstRange(of: "] : ") {
            message = String(message[end.upperBound...])
        }
        return RecordedFailure(message: message, file: file, line: lineNumber, round: nil, origin: .output)
    }
}

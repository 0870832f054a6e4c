/// A failure recorded inside a worker process, carried back to the test process with its source location.
public struct RecordedFailure: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Where the failure was recorded; how it travelled.
    public enum Origin: String, Hashable, Sendable, Codable {
        /// `worker.fail(...)` / `worker.check(...)`, sent through the result channel.
        case resultChannel
        /// An `XCTAssert…` (or any `FILE:LINE: error: …` line) that the worker printed: XCTest inside a forked
        /// child records nothing the parent sees, so Shakedown reads it from the worker's output instead.
        case output
    }

    /// What failed, in the words of the check or the assertion.
    public let message: String
    /// The source file where it was recorded.
    public let file: String
    /// The line in ``file``.
    public let line: Int
    /// The round the worker was in (0-based); `nil` when unknown.
    public let round: Int?
    /// How it reached the test process.
    public let origin: Origin

    /// A failure at `file`:`line`.
    public init(message: String, file: String, line: Int, round: Int?, origin: Origin) {
        self.message = message
        self.file = file
        self.line = line
        self.round = round
        self.origin = origin
    }

    /// `File.swift:42: message (round 3)`.
    public var description: String {
        "\(file):\(line): \(message)" + (round.map { " (round \($0))" } ?? "")
    }
}

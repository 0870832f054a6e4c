/// Reads the line Swift Testing prints when an issue is recorded, so that an issue recorded in a forked worker
/// (where Swift Testing shows it on the console but does not count it for the parent's test) can be carried back:
///
///     ✘ Test racyIncrement() recorded an issue at CounterTests.swift:9:9: Expectation failed: (a → 1) == 2
///     ✘ Test f(x:) recorded an issue with 1 argument x → 1 at CounterTests.swift:9:9: Expectation failed: …
///
/// Swift Testing names only the file, not its path. Bodies run through ShakedownTesting's `shakedown` helper do
/// not need this (the helper catches each issue inside the worker with its full path); it is for a plain
/// ``Shake/fork(processes:rounds:timeout:jitter:seed:observing:teardown:body:)`` inside a Swift Testing test,
/// once the output reader calls it for lines that contain ``marker``.
package enum SwiftTestingIssueLine {
    /// The text every such line contains.
    package static let marker = " recorded an issue"

    /// The failure the line describes, or `nil` when it is not such a line (or its location does not parse).
    package static func parse(_ line: String) -> RecordedFailure? {
        guard let recorded = line.firstRange(of: marker) else { return nil }
        // The location follows the " at " just before "FILE:LINE:COLUMN: " (an argument's value may contain " at ").
        for at in line[recorded.upperBound...].ranges(of: " at ") {
            if let failure = parseLocation(line[at.upperBound...]) { return failure }
        }
        return nil
    }

    /// Parses `File.swift:9:9: message`.
    private static func parseLocation(_ text: Substring) -> RecordedFailure? {
        let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].hasSuffix(".swift"), !parts[0].contains(" "),
              let line = Int(parts[1]), line > 0, Int(parts[2]) != nil
        else { return nil }
        var message = parts[3]
        if message.hasPrefix(" ") { message = message.dropFirst() }
        return RecordedFailure(message: String(message), file: String(parts[0]), line: line, round: nil, origin: .output)
    }
}

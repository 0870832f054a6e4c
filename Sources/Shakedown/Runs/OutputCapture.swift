#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// What a worker printed: the last bytes of its stdout and stderr (merged), every line in the
/// `FILE:LINE: error: MESSAGE` form that XCTest prints for a failed assertion, every issue line Swift Testing
/// prints, and the Swift runtime's crash report.
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
                                       "*** Program crashed:", "Aborted", "Segmentation fault",
                                       "Backtracing from"]
    private static let failureMarker = Array(": error: ".utf8)
    /// Swift Testing's "✘ Test … recorded an issue at File.swift:L:C: …" (a `#expect` in a raw-forked worker).
    private static let swiftTestingMarker = Array(SwiftTestingIssueLine.marker.utf8)

    /// Everything printed from the Swift runtime's "*** Program crashed:" line on (at most
    /// ``crashReportLimit`` bytes): the crashing thread's frames, which the tail would lose to the register dump
    /// and image list printed after them.
    private var crashReport: [UInt8]?
    /// The tail as it was when the crash report began.
    private var tailBeforeCrash: [UInt8] = []
    /// The end of the previous chunk, so a crash marker split across two reads is still found.
    private var carry: [UInt8] = []
    private static let crashReportMarker = Array("*** Program crashed:".utf8)
    private static let crashReportLimit = 256 * 1024

    package init(tailLimit: Int) { self.tailLimit = tailLimit }

    /// Whether the output says the process is dying: a fatal error, or the Swift runtime's backtracer at work
    /// (`*** Signal 11: Backtracing from …`, `*** Program crashed: …`).
    package var isPrintingCrashReport: Bool { crashReport != nil || crashMessage != nil }

    /// The crash report the Swift runtime printed, parsed: reason, fatal error, the crashing thread's frames.
    package var crash: CrashBacktrace? {
        crashReport.flatMap { CrashBacktrace.parse(String(decoding: $0, as: UTF8.self)) }
    }

    package mutating func append(_ bytes: ArraySlice<UInt8>) {
        totalBytes += bytes.count
        keepCrashReport(bytes)
        // Only the last `tailLimit` bytes of a chunk can end up in the tail.
        // (Indices, not `suffix`: `+=` picks Sequence.suffix, which walks every byte of the chunk.)
        tail.append(contentsOf: bytes[max(bytes.startIndex, bytes.endIndex - tailLimit)...])
        if tail.count > tailLimit * 2 { tail.removeFirst(tail.count - tailLimit) }
        bytes.withUnsafeBufferPointer { chunk in scanLines(chunk) }
    }

    private mutating func keepCrashReport(_ bytes: ArraySlice<UInt8>) {
        if crashReport != nil {
            let room = Self.crashReportLimit - (crashReport?.count ?? 0)
            if room > 0 { crashReport?.append(contentsOf: bytes.prefix(room)) }
            return
        }
        // The marker across the previous read and this one, else within this one.
        let seam = carry + bytes.prefix(Self.crashReportMarker.count - 1)
        if let found = Self.offset(of: Self.crashReportMarker, in: seam[...]), found < carry.count {
            crashReport = Array((seam[found...] + bytes.dropFirst(seam.count - carry.count)).prefix(Self.crashReportLimit))
            tailBeforeCrash = Array(tail.dropLast(carry.count - found))
        } else if let found = Self.offset(of: Self.crashReportMarker, in: bytes) {
            crashReport = Array(bytes[(bytes.startIndex + found)...].prefix(Self.crashReportLimit))
            tailBeforeCrash = tail + bytes[..<(bytes.startIndex + found)]
        } else {
            let keep = Self.crashReportMarker.count - 1
            carry = Array((carry + bytes[max(bytes.startIndex, bytes.endIndex - keep)...]).suffix(keep))
        }
    }

    private static func offset(of marker: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        bytes.withUnsafeBytes { haystack in
            marker.withUnsafeBytes { needle in
                guard let base = haystack.baseAddress,
                      let found = shakedown_memmem(base, haystack.count, needle.baseAddress, needle.count) else { return nil }
                return UnsafeRawPointer(found) - base
            }
        }
    }

    /// Finds the lines worth parsing without visiting each byte in Swift: the first line completes the partial
    /// line left by the previous chunk; in the complete lines after it, `memmem` looks for the markers across the
    /// whole run of lines at once and only the lines that contain one are parsed. The rest becomes the new
    /// partial line. Heavy output is therefore read at memory speed (docs/benchmarks.md).
    private mutating func scanLines(_ chunk: UnsafeBufferPointer<UInt8>) {
        guard let firstNewline = Self.firstNewline(in: chunk, from: 0) else {
            keepPartial(UnsafeBufferPointer(rebasing: chunk[...]))
            return
        }
        keepPartial(UnsafeBufferPointer(rebasing: chunk[..<firstNewline]))
        scan(partialLine)
        partialLine.removeAll(keepingCapacity: true)
        // The last newline: everything before it is complete lines, everything after it the next partial line.
        guard let base = chunk.baseAddress, let found = shakedown_memrchr(base, 0x0A, chunk.count) else { return }
        let lastNewline = UnsafeRawPointer(found) - UnsafeRawPointer(base)
        keepPartial(UnsafeBufferPointer(rebasing: chunk[(lastNewline + 1)...]))
        scanCompleteLines(UnsafeBufferPointer(rebasing: chunk[(firstNewline + 1)..<(lastNewline + 1)]))
    }

    /// Parses each line of `lines` (complete lines, each ending in a newline) that contains a marker.
    private mutating func scanCompleteLines(_ lines: UnsafeBufferPointer<UInt8>) {
        guard let base = lines.baseAddress, !lines.isEmpty else { return }
        var markers = [Self.failureMarker, Self.swiftTestingMarker]
        if crashMessage == nil { markers += Self.crashMarkerBytes }
        var hits: Set<Int> = []
        for marker in markers {
            var offset = 0
            while offset < lines.count {
                guard let found = marker.withUnsafeBytes({ needle in
                    shakedown_memmem(base + offset, lines.count - offset, needle.baseAddress, needle.count)
                }) else { break }
                let position = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                // A window around the marker, so a line longer than the limit still yields its failure.
                hits.insert(max(Self.lineStart(in: lines, before: position), position - Self.lineLimit / 2))
                guard let newline = Self.firstNewline(in: lines, from: position) else { break }
                offset = newline + 1
            }
        }
        for start in hits.sorted() {
            let end = Self.firstNewline(in: lines, from: start) ?? lines.count
            scan(Array(lines[start..<min(end, start + Self.lineLimit)]))
        }
    }

    private static func firstNewline(in bytes: UnsafeBufferPointer<UInt8>, from offset: Int) -> Int? {
        guard let base = bytes.baseAddress, offset < bytes.count,
              let found = memchr(base + offset, 0x0A, bytes.count - offset) else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base)
    }

    private static func lineStart(in lines: UnsafeBufferPointer<UInt8>, before position: Int) -> Int {
        guard let base = lines.baseAddress, position > 0, let found = shakedown_memrchr(base, 0x0A, position) else { return 0 }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base) + 1
    }

    /// Keeps the start of a line that continues in the next chunk (at most ``lineLimit`` bytes of it).
    private mutating func keepPartial(_ bytes: UnsafeBufferPointer<UInt8>) {
        let room = Self.lineLimit - partialLine.count
        if room > 0 { partialLine.append(contentsOf: UnsafeBufferPointer(rebasing: bytes.prefix(room))) }
    }

    private static let lineLimit = 64 * 1024
    private static let crashMarkerBytes = crashMarkers.map { Array($0.utf8) }

    package mutating func finish() {
        if !partialLine.isEmpty { scan(partialLine) }
        partialLine.removeAll()
    }

    /// The kept tail as text (invalid UTF-8 repaired).
    /// After a crash report, the output before it and the report condensed to its crashing thread's frames,
    /// so the tail never ends on the register dump or the image list.
    package var tailText: String {
        guard let crashReport else { return String(decoding: tail.suffix(tailLimit), as: UTF8.self) }
        return String(decoding: tailBeforeCrash.suffix(tailLimit), as: UTF8.self)
            + CrashBacktrace.condensed(String(decoding: crashReport, as: UTF8.self))
    }

    private mutating func scan(_ line: [UInt8]) {
        if crashMessage == nil, Self.crashMarkerBytes.contains(where: { Self.contains(line, $0) }) {
            crashMessage = String(decoding: line, as: UTF8.self)
        }
        if Self.contains(line, Self.swiftTestingMarker),
           let failure = SwiftTestingIssueLine.parse(String(decoding: line, as: UTF8.self)) {
            failures.append(failure)
            return
        }
        guard Self.contains(line, Self.failureMarker), let failure = Self.parseFailureLine(line) else { return }
        failures.append(failure)
    }

    private static func contains(_ line: [UInt8], _ marker: [UInt8]) -> Bool {
        line.withUnsafeBytes { haystack in
            marker.withUnsafeBytes { needle in
                shakedown_memmem(haystack.baseAddress, haystack.count, needle.baseAddress, needle.count) != nil
            }
        }
    }

    /// Parses `/path/File.swift:42: error: -[Suite test] : XCTAssertEqual failed: ...`.
    package static func parseFailureLine(_ line: [UInt8]) -> RecordedFailure? {
        guard let markerStart = line.firstRange(of: failureMarker)?.lowerBound else { return nil }
        let location = line[..<markerStart]
        guard let colon = location.lastIndex(of: UInt8(ascii: ":")),
              let lineNumber = Int(String(decoding: location[(colon + 1)...], as: UTF8.self)),
              colon > location.startIndex
        else { return nil }
        var file = String(decoding: location[..<colon], as: UTF8.self)
        // Output printed without a newline before XCTest's line ends up in front of the path.
        if !file.hasPrefix("/"), let slash = file.firstIndex(of: "/") { file = String(file[slash...]) }
        guard file.hasPrefix("/") || file.contains(".swift") else { return nil }
        var message = String(decoding: line[(markerStart + failureMarker.count)...], as: UTF8.self)
        // XCTest prefixes the test's name: "-[Module.Case testName] : ".
        if message.hasPrefix("-["), let end = message.firstRange(of: "] : ") {
            message = String(message[end.upperBound...])
        }
        return RecordedFailure(message: message, file: file, line: lineNumber, round: nil, origin: .output)
    }
}

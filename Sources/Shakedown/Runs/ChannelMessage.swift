/// A message on one of a run's pipes: from a worker to the test process (its result channel), or from the
/// run leader to the test process (its event channel).
///
/// Wire format: a little-endian `UInt32` payload length, a kind byte, then the payload — integers as 8
/// little-endian bytes, strings as a `UInt32` length and UTF-8 bytes. A frame never exceeds ``maximumFrame``
/// bytes, so one `write(2)` of it to a pipe is atomic (POSIX guarantees that up to `PIPE_BUF` = 4096), and a
/// worker and its exec'd command can share a channel without interleaving.
package enum ChannelMessage: Equatable, Sendable {
    // Worker → test process.
    case failure(message: String, file: String, line: Int64, round: Int64)
    case threw(message: String, round: Int64)
    case finished(rounds: Int64, jitterPoints: Int64, jitterActions: Int64, jitterDigest: UInt64)
    case leftover(kind: LeakedProcess.Kind, pid: Int64, parent: Int64, status: Int64, command: String, ageMilliseconds: Int64)
    case commandStarted(pid: Int64)
    case commandExited(pid: Int64, status: Int64)
    case stoppedAtBrokenBarrier(brokenBy: Int64, round: Int64)
    /// The worker never ran its body or command; the reason names the failed step.
    case notStarted(reason: String)
    /// Something the worker noticed about how it ran (preemption stepped aside, ran without the preload library).
    case workerNote(String)
    /// The judge's outcome of a round, as text, with its grade (0 acceptable, 1 interesting, 2 forbidden).
    case roundOutcome(round: Int64, grade: Int64, text: String)
    // Run leader → test process.
    case workerStarted(index: Int64, pid: Int64)
    case workerExited(index: Int64, pid: Int64, status: Int64)
    case orphan(pid: Int64, worker: Int64, command: String, ageMilliseconds: Int64, cleanup: Int64, status: Int64)
    case workerNotStarted(index: Int64, reason: String)
    case leaderNote(String)
    case leaderDone
    /// Like ``leaderDone``, but the leader stays for the next repetition (``LeaderSession``) instead of exiting:
    /// it reaped every process of the run, adopted none, and nothing it relies on failed.
    case leaderIdle

    package static let maximumFrame = 4000
    private static let headerSize = 5

    /// The kind byte of each message; the payload layout follows from the case.
    private var kind: UInt8 {
        switch self {
        case .failure: 1
        case .threw: 2
        case .finished: 3
        case .leftover: 4
        case .commandStarted: 5
        case .commandExited: 6
        case .stoppedAtBrokenBarrier: 7
        case .notStarted: 8
        case .roundOutcome: 9
        case .workerNote: 10
        case .workerStarted: 20
        case .workerExited: 21
        case .orphan: 22
        case .leaderNote: 23
        case .leaderDone: 24
        case .leaderIdle: 26
        case .workerNotStarted: 25
        }
    }

    /// The frame bytes. Strings are cut so the frame fits in ``maximumFrame``.
    package func encoded() -> [UInt8] {
        var payload = FrameWriter()
        switch self {
        case let .failure(message, file, line, round):
            payload.string(file, limit: 512); payload.int(line); payload.int(round); payload.string(message, limit: 3000)
        case let .threw(message, round):
            payload.int(round); payload.string(message, limit: 3500)
        case let .finished(rounds, points, actions, digest):
            payload.int(rounds); payload.int(points); payload.int(actions); payload.int(Int64(bitPattern: digest))
        case let .leftover(kind, pid, parent, status, command, age):
            payload.int(kind == .zombie ? 0 : 1); payload.int(pid); payload.int(parent); payload.int(status)
            payload.int(age); payload.string(command, limit: 3000)
        case let .commandStarted(pid):
            payload.int(pid)
        case let .commandExited(pid, status):
            payload.int(pid); payload.int(status)
        case let .stoppedAtBrokenBarrier(brokenBy, round):
            payload.int(brokenBy); payload.int(round)
        case let .notStarted(reason):
            payload.string(reason, limit: 3500)
        case let .workerNote(text):
            payload.string(text, limit: 3500)
        case let .roundOutcome(round, grade, text):
            payload.int(round); payload.int(grade); payload.string(text, limit: 3500)
        case let .workerStarted(index, pid):
            payload.int(index); payload.int(pid)
        case let .workerExited(index, pid, status):
            payload.int(index); payload.int(pid); payload.int(status)
        case let .orphan(pid, worker, command, age, cleanup, status):
            payload.int(pid); payload.int(worker); payload.int(age); payload.int(cleanup); payload.int(status)
            payload.string(command, limit: 3000)
        case let .workerNotStarted(index, reason):
            payload.int(index); payload.string(reason, limit: 3500)
        case let .leaderNote(text):
            payload.string(text, limit: 3500)
        case .leaderDone, .leaderIdle:
            break
        }
        let length = UInt32(payload.bytes.count)
        var frame: [UInt8] = []
        frame.reserveCapacity(Self.headerSize + payload.bytes.count)
        withUnsafeBytes(of: length.littleEndian) { frame += $0 }
        frame.append(kind)
        frame += payload.bytes
        return frame
    }

    /// Decodes one message from a complete payload.
    fileprivate static func decode(kind: UInt8, payload: ArraySlice<UInt8>) throws(FrameError) -> ChannelMessage {
        var reader = FrameReader(bytes: payload)
        let message: ChannelMessage
        switch kind {
        case 1:
            let file = try reader.string(), line = try reader.int(), round = try reader.int()
            message = .failure(message: try reader.string(), file: file, line: line, round: round)
        case 2:
            let round = try reader.int()
            message = .threw(message: try reader.string(), round: round)
        case 3:
            message = .finished(rounds: try reader.int(), jitterPoints: try reader.int(),
                                jitterActions: try reader.int(), jitterDigest: UInt64(bitPattern: try reader.int()))
        case 4:
            let kind: LeakedProcess.Kind = try reader.int() == 0 ? .zombie : .orphan
            let pid = try reader.int(), parent = try reader.int(), status = try reader.int(), age = try reader.int()
            message = .leftover(kind: kind, pid: pid, parent: parent, status: status, command: try reader.string(),
                                ageMilliseconds: age)
        case 5: message = .commandStarted(pid: try reader.int())
        case 6: message = .commandExited(pid: try reader.int(), status: try reader.int())
        case 7: message = .stoppedAtBrokenBarrier(brokenBy: try reader.int(), round: try reader.int())
        case 8: message = .notStarted(reason: try reader.string())
        case 10: message = .workerNote(try reader.string())
        case 9:
            let round = try reader.int(), grade = try reader.int()
            message = .roundOutcome(round: round, grade: grade, text: try reader.string())
        case 20: message = .workerStarted(index: try reader.int(), pid: try reader.int())
        case 21: message = .workerExited(index: try reader.int(), pid: try reader.int(), status: try reader.int())
        case 22:
            let pid = try reader.int(), worker = try reader.int(), age = try reader.int()
            let cleanup = try reader.int(), status = try reader.int()
            message = .orphan(pid: pid, worker: worker, command: try reader.string(), ageMilliseconds: age,
                              cleanup: cleanup, status: status)
        case 23: message = .leaderNote(try reader.string())
        case 24: message = .leaderDone
        case 26: message = .leaderIdle
        case 25:
            let index = try reader.int()
            message = .workerNotStarted(index: index, reason: try reader.string())
        default: throw FrameError("unknown message kind \(kind)")
        }
        guard reader.isAtEnd else { throw FrameError("\(reader.remaining) unexpected bytes after a kind-\(kind) message") }
        return message
    }
}

package struct FrameError: Error, Equatable {
    package let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Splits a byte stream into messages; stops for good at the first byte that cannot be a frame, keeping every
/// message decoded before it.
package struct ChannelDecoder {
    private var buffer: [UInt8] = []
    private var consumed = 0
    /// Messages decoded so far.
    package private(set) var messages: [ChannelMessage] = []
    /// Set once garbage was seen; nothing after it is decoded.
    package private(set) var problem: String?

    package init() {}

    /// Adds bytes and decodes every complete frame in them.
    package mutating func append(_ bytes: some Sequence<UInt8>) {
        guard problem == nil else { return }
        buffer += bytes
        var offset = 0
        while buffer.count - offset >= 5 {
            let length = Int(buffer[offset]) | Int(buffer[offset + 1]) << 8 | Int(buffer[offset + 2]) << 16
                | Int(buffer[offset + 3]) << 24
            guard length <= ChannelMessage.maximumFrame else {
                problem = "garbage at byte \(consumed + offset): frame length \(length) exceeds \(ChannelMessage.maximumFrame)"
                return
            }
            guard buffer.count - offset - 5 >= length else { break }
            let payload = buffer[(offset + 5)..<(offset + 5 + length)]
            do {
                messages.append(try ChannelMessage.decode(kind: buffer[offset + 4], payload: payload))
            } catch {
                problem = "garbage at byte \(consumed + offset): \(error.reason)"
                return
            }
            offset += 5 + length
        }
        consumed += offset
        buffer.removeFirst(offset)
    }

    /// Call at end of stream: a partial frame left over is a problem (the writer died mid-write).
    package mutating func finish() {
        if problem == nil, !buffer.isEmpty {
            problem = "truncated frame: \(buffer.count) bytes at byte \(consumed) never completed"
        }
    }
}

private struct FrameWriter {
    var bytes: [UInt8] = []

    mutating func int(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func string(_ value: String, limit: Int) {
        var utf8 = Array(value.utf8)
        if utf8.count > limit {
            utf8 = Array(utf8.prefix(limit))
            // Do not cut a multi-byte character in half.
            while let last = utf8.last, last & 0xC0 == 0x80 { utf8.removeLast() }
            if let last = utf8.last, last >= 0xC0 { utf8.removeLast() }
        }
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes += $0 }
        bytes += utf8
    }
}

private struct FrameReader {
    var bytes: ArraySlice<UInt8>

    var isAtEnd: Bool { bytes.isEmpty }
    var remaining: Int { bytes.count }

    mutating func int() throws(FrameError) -> Int64 {
        guard bytes.count >= 8 else { throw FrameError("payload ends inside an integer") }
        var value: UInt64 = 0
        for (shift, byte) in bytes.prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        bytes = bytes.dropFirst(8)
        return Int64(bitPattern: value)
    }

    mutating func string() throws(FrameError) -> String {
        guard bytes.count >= 4 else { throw FrameError("payload ends inside a string length") }
        let length = bytes.prefix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        bytes = bytes.dropFirst(4)
        guard bytes.count >= length else { throw FrameError("string of \(length) bytes runs past the payload") }
        let text = String(decoding: bytes.prefix(length), as: UTF8.self)
        bytes = bytes.dropFirst(length)
        return text
    }
}

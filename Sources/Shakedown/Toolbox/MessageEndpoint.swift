#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// What a receive found: a message, nothing in time, or the peer gone.
public enum Received<Value> {
    /// A whole message arrived.
    case message(Value)
    /// The timeout passed with no whole message.
    case timedOut
    /// The peer closed its end or died; `partialBytes` of an unfinished message were lost with it (0 when the
    /// peer stopped between messages).
    case endOfFile(partialBytes: Int)

    /// The message, or `nil` for a timeout or end of file.
    public var value: Value? {
        if case let .message(value) = self { return value }
        return nil
    }
}

extension Received: Sendable where Value: Sendable {}
extension Received: Equatable where Value: Equatable {}

/// One end of a ``MessagePipe``: sends and receives framed `Codable` messages.
///
/// Framing: each message is a 4-byte little-endian length and that many bytes of ``CompactEncoder`` output, so a
/// partial read never splits or merges messages. Not for use by two threads at once. Closing (or dropping the
/// last reference) closes the descriptor.
public final class MessageEndpoint: @unchecked Sendable {
    /// The socket descriptor (close-on-exec), -1 once closed.
    public private(set) var descriptor: CInt
    /// The largest encoded message this end sends or accepts.
    public let maximumMessageBytes: Int
    private var buffer: [UInt8] = []
    private var consumed = 0
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)
    private let encoder = CompactEncoder()
    private let decoder = CompactDecoder()

    init(descriptor: CInt, maximumMessageBytes: Int) {
        self.descriptor = descriptor
        self.maximumMessageBytes = maximumMessageBytes
    }

    deinit { closeQuietly(descriptor) }

    /// Closes this end; the peer then receives end-of-file once it has read what was sent.
    public func close() {
        closeQuietly(descriptor)
        descriptor = -1
    }

    /// Sends `value` as one message. Blocks while the socket buffer is full (the peer is not reading).
    /// - Throws: `.invalidArgument("value")` when it cannot be encoded or its encoding exceeds
    ///   ``maximumMessageBytes`` (the message names the limit); `.systemCall("send")` with EPIPE when the peer is
    ///   gone (no SIGPIPE is raised); `.invalidArgument("endpoint")` after ``close()``.
    public func send<Value: Encodable>(_ value: Value) throws(ShakedownError) {
        let frame = try ToolboxFrame.encode(value, limit: maximumMessageBytes, limitName: "maximumMessageBytes", encoder: encoder)
        try sendFrame(frame)
    }

    func sendFrame(_ frame: [UInt8]) throws(ShakedownError) {
        guard descriptor >= 0 else { throw .invalidArgument("endpoint", "this end of the pipe is closed") }
        var offset = 0
        while offset < frame.count {
            let sent = frame.withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw .systemCall("send")
            }
            offset += sent
        }
    }

    /// Receives the next message, waiting at most `timeout` (zero: only what has arrived already).
    /// - Throws: `.malformedData` when the bytes do not decode as a `Value` or a frame claims more than
    ///   ``maximumMessageBytes`` (the stream cannot be trusted after that); `.invalidArgument("timeout")` when
    ///   negative; `.systemCall("recv")`/`("poll")`.
    public func receive<Value: Decodable>(_ type: Value.Type, timeout: Duration) throws(ShakedownError) -> Received<Value> {
        let deadline = try Deadline(after: timeout)
        switch try receiveFrame(until: deadline) {
        case let .message(payload):
            do { return .message(try decoder.decode(type, from: payload)) } catch {
                throw ShakedownError(.malformedData(source: "pipe descriptor \(descriptor)", reason: "not a \(Value.self): \(error)"))
            }
        case .timedOut: return .timedOut
        case let .endOfFile(partial): return .endOfFile(partialBytes: partial)
        }
    }

    /// The next whole frame's payload.
    func receiveFrame(until deadline: Deadline) throws(ShakedownError) -> Received<[UInt8]> {
        guard descriptor >= 0 else { throw .invalidArgument("endpoint", "this end of the pipe is closed") }
        while true {
            if let payload = try nextBufferedFrame() { return .message(payload) }
            switch try readMore(until: deadline) {
            case .some(true): continue
            case .some(false): return .endOfFile(partialBytes: buffer.count - consumed)
            case .none: return .timedOut
            }
        }
    }

    /// A whole frame from the bytes already read, if there is one.
    private func nextBufferedFrame() throws(ShakedownError) -> [UInt8]? {
        let available = buffer.count - consumed
        guard available >= 4 else { return nil }
        let length = buffer.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: consumed, as: UInt32.self))) }
        guard length <= maximumMessageBytes else {
            throw ShakedownError(.malformedData(source: "pipe descriptor \(descriptor)",
                                                reason: "frame of \(length) bytes exceeds maximumMessageBytes \(maximumMessageBytes)"))
        }
        guard available >= 4 + length else { return nil }
        let payload = Array(buffer[(consumed + 4)..<(consumed + 4 + length)])
        consumed += 4 + length
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        }
        return payload
    }

    /// Reads what arrives before `deadline`. `true`: got bytes; `false`: end of file; `nil`: timed out.
    private func readMore(until deadline: Deadline) throws(ShakedownError) -> Bool? {
        while true {
            let count = scratch.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                if consumed > 0 {
                    buffer.removeFirst(consumed)
                    consumed = 0
                }
                buffer.append(contentsOf: scratch[0..<count])
                return true
            }
            if count == 0 { return false }
            switch errno {
            case EINTR: continue
            case EAGAIN: if try !waitReadable(descriptor, until: deadline) { return nil }
            case ECONNRESET: return false
            default: throw .systemCall("recv")
            }
        }
    }
}

/// Encoding with the size check every toolbox piece applies.
enum ToolboxFrame {
    /// A length-prefixed frame of `value`'s encoding.
    /// - Throws: `.invalidArgument("value")` naming `limitName` when the encoding is larger than `limit`, or saying
    ///   why the value could not be encoded.
    static func encode<Value: Encodable>(_ value: Value, limit: Int, limitName: String,
                                         encoder: CompactEncoder = CompactEncoder()) throws(ShakedownError) -> [UInt8] {
        var frame: [UInt8] = [0, 0, 0, 0]
        do { try encoder.encode(value, appendingTo: &frame) } catch {
            throw .invalidArgument("value", "\(Value.self) could not be encoded: \(error)")
        }
        let length = frame.count - 4
        guard length <= limit else {
            throw .invalidArgument("value", "its encoding is \(length) bytes, more than the \(limitName) limit of \(limit) bytes")
        }
        frame.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 0, as: UInt32.self) }
        return frame
    }
}

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
///
/// Cost per message: one `send(2)` of header and payload together; on the receiving side one `recv(2)` takes
/// everything that has arrived (several messages at once when the sender is ahead, each then taken without a
/// system call), and a receive that has to wait adds one `poll(2)`, after a short adaptive busy wait when the
/// pipe was created with one (``MessagePipe/init(maximumMessageBytes:spinBeforeSleeping:)``). Once warm, the
/// encoding and receive buffers are reused: nothing is allocated per message beyond what decoding the value
/// itself needs.
public final class MessageEndpoint: @unchecked Sendable {
    /// The socket descriptor (close-on-exec), -1 once closed.
    public private(set) var descriptor: CInt
    /// The largest encoded message this end sends or accepts.
    public let maximumMessageBytes: Int
    private var inbox = FrameInbox()
    private let writer = CompactWriter()
    private let decoder = CompactDecoder()
    /// `recv(2)` calls that brought bytes: how tests see that one read took several messages.
    private(set) var reads = 0
    private var spin: AdaptiveSpin

    /// - Parameter spinNanoseconds: how long a receive that finds nothing polls without sleeping first (see
    ///   ``AdaptiveSpin``); 0: sleep at once.
    init(descriptor: CInt, maximumMessageBytes: Int, spinNanoseconds: Int64 = 0) {
        self.descriptor = descriptor
        self.maximumMessageBytes = maximumMessageBytes
        spin = AdaptiveSpin(limit: spinNanoseconds)
    }

    deinit { closeQuietly(descriptor) }

    /// Closes this end; the peer then receives end-of-file once it has read what was sent.
    public func close() {
        closeQuietly(descriptor)
        descriptor = -1
    }

    /// Sends `value` as one message. Blocks while the socket buffer is full (the peer is not reading): without a
    /// limit, so use ``send(_:timeout:)`` when the peer may stop reading.
    /// - Throws: `.invalidArgument("value")` when it cannot be encoded or its encoding exceeds
    ///   ``maximumMessageBytes`` (the message names the limit); `.systemCall("send")` with EPIPE when the peer is
    ///   gone (no SIGPIPE is raised); `.invalidArgument("endpoint")` after ``close()``.
    public func send<Value: Encodable>(_ value: Value) throws(ShakedownError) {
        guard descriptor >= 0 else { throw .invalidArgument("endpoint", "this end of the pipe is closed") }
        try ToolboxFrame.encode(value, limit: maximumMessageBytes, limitName: "maximumMessageBytes", into: writer)
        let failure = writer.bytes.withUnsafeBytes { sendAll($0) }
        if let failure { throw failure }
    }

    /// Sends `value` as one message, waiting at most `timeout` while the socket buffer is full: the bounded form
    /// of ``send(_:)``, for a peer that may have stopped reading (hung, stopped, or busy forever), where
    /// ``send(_:)`` would block for good.
    ///
    /// Returns `false` when not a byte of the message could be sent in time: the stream is intact and the send
    /// may be retried. When only part of it went out before the time ran out, the stream can no longer be framed:
    /// this end is closed (the peer receives ``Received/endOfFile(partialBytes:)``) and the send throws.
    /// A zero timeout sends only what fits at once.
    /// - Throws: as ``send(_:)``; `.invalidArgument("timeout")` when negative; `.systemCall("send")` with
    ///   `ETIMEDOUT` after a partial send (this end is then closed); `.systemCall("poll")`.
    /// - Cost: as ``send(_:)`` when the buffer has room; otherwise a `poll(2)` per wait for room.
    public func send<Value: Encodable>(_ value: Value, timeout: Duration) throws(ShakedownError) -> Bool {
        let deadline = try Deadline(after: timeout)
        guard descriptor >= 0 else { throw .invalidArgument("endpoint", "this end of the pipe is closed") }
        try ToolboxFrame.encode(value, limit: maximumMessageBytes, limitName: "maximumMessageBytes", into: writer)
        let outcome = writer.bytes.withUnsafeBytes { sendAll($0, until: deadline) }
        switch outcome {
        case let .failure(error): throw error
        case .success(0) where !writer.bytes.isEmpty: return false
        case let .success(sent) where sent < writer.bytes.count:
            close()
            throw .systemCall("send", errno: .timedOut)
        case .success: return true
        }
    }

    /// Sends bytes that are already a frame (or, in tests, any bytes at all).
    func sendFrame(_ frame: [UInt8]) throws(ShakedownError) {
        guard descriptor >= 0 else { throw .invalidArgument("endpoint", "this end of the pipe is closed") }
        let failure = frame.withUnsafeBytes { sendAll($0) }
        if let failure { throw failure }
    }

    /// Writes all of `raw`, in one `send(2)` unless the socket buffer is full.
    private func sendAll(_ raw: UnsafeRawBufferPointer) -> ShakedownError? {
        guard let base = raw.baseAddress else { return nil }
        var offset = 0
        while offset < raw.count {
            let sent = Glibc.send(descriptor, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                if errno == EINTR { continue }
                return .systemCall("send")
            }
            offset += sent
        }
        return nil
    }

    /// Writes as much of `raw` as goes out before `deadline` without ever blocking in `send(2)`; returns the bytes
    /// sent.
    private func sendAll(_ raw: UnsafeRawBufferPointer, until deadline: Deadline) -> Result<Int, ShakedownError> {
        guard let base = raw.baseAddress else { return .success(0) }
        var offset = 0
        while offset < raw.count {
            let sent = Glibc.send(descriptor, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN:
                if deadline.hasPassed { return .success(offset) }
                var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                if poll(&entry, 1, deadline.pollMilliseconds) < 0 && errno != EINTR { return .failure(.systemCall("poll")) }
            default: return .failure(.systemCall("send"))
            }
        }
        return .success(offset)
    }

    /// Receives the next message, waiting at most `timeout` (zero: only what has arrived already).
    /// - Throws: `.malformedData` when the bytes do not decode as a `Value` or a frame claims more than
    ///   ``maximumMessageBytes`` (the stream cannot be trusted after that); `.invalidArgument("timeout")` when
    ///   negative; `.systemCall("recv")`/`("poll")`.
    public func receive<Value: Decodable>(_ type: Value.Type, timeout: Duration) throws(ShakedownError) -> Received<Value> {
        let deadline = try Deadline(after: timeout)
        let decoder = decoder, descriptor = descriptor
        return try withNextFrame(until: deadline) { payload throws(ShakedownError) -> Value in
            do { return try decoder.decode(type, from: payload) } catch {
                throw ShakedownError(.malformedData(source: "pipe descriptor \(descriptor)", reason: "not a \(Value.self): \(error)"))
            }
        }
    }

    /// Waits for the next whole frame (at most until `deadline`) and passes its payload to `body`, which must not
    /// keep the pointer: it is a view into the receive buffer.
    func withNextFrame<Result>(until deadline: Deadline, _ body: (UnsafeRawBufferPointer) throws(ShakedownError) -> Result)
        throws(ShakedownError) -> Received<Result> {
        guard descriptor >= 0 else { throw .invalidArgument("endpoint", "this end of the pipe is closed") }
        while true {
            if let result = try inbox.takeFrame(limit: maximumMessageBytes, source: source, body) { return .message(result) }
            switch try readMore(until: deadline) {
            case .some(true): continue
            case .some(false): return .endOfFile(partialBytes: inbox.bufferedBytes)
            case .none: return .timedOut
            }
        }
    }

    private var source: String { "pipe descriptor \(descriptor)" }

    /// Reads what arrives before `deadline`. `true`: got bytes; `false`: end of file; `nil`: timed out.
    private func readMore(until deadline: Deadline) throws(ShakedownError) -> Bool? {
        // With nothing buffered the peer has usually not answered yet (request and reply): waiting first saves a
        // `recv` that would only say EAGAIN. With part of a frame buffered, the rest is usually in flight.
        var wait = inbox.bufferedBytes == 0 && !deadline.hasPassed
        if wait, spin.spinUntilReadable(descriptor, deadline: deadline) { wait = false }
        while true {
            if wait, try !waitReadable(descriptor, until: deadline) { return nil }
            let space = try inbox.freeSpace(limit: maximumMessageBytes, source: source)
            let count = recv(descriptor, space.baseAddress, space.count, Int32(MSG_DONTWAIT))
            if count > 0 {
                reads += 1
                inbox.didRead(count)
                return true
            }
            if count == 0 { return false }
            switch errno {
            case EINTR: continue
            case EAGAIN:
                if deadline.hasPassed { return nil }
                wait = true
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

    /// Encodes `value` as a frame into `writer`'s reused buffer (``CompactWriter/bytes``): no allocation per
    /// message once the buffer has grown to the usual message size.
    /// - Throws: like ``encode(_:limit:limitName:encoder:)``.
    static func encode<Value: Encodable>(_ value: Value, limit: Int, limitName: String, into writer: CompactWriter) throws(ShakedownError) {
        writer.restart(prefix: 4, keptCapacity: FrameInbox.keptCapacity)
        do { try writer.encodeValue(value, codingPath: []) } catch {
            throw .invalidArgument("value", "\(Value.self) could not be encoded: \(error)")
        }
        let length = writer.bytes.count - 4
        guard length <= limit else {
            throw .invalidArgument("value", "its encoding is \(length) bytes, more than the \(limitName) limit of \(limit) bytes")
        }
        writer.bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 0, as: UInt32.self) }
    }
}

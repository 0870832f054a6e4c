#if canImport(Glibc)
import Glibc
#endif

/// The receiving side of a length-prefixed byte stream (4-byte little-endian length, then that many bytes): one
/// buffer that each `recv(2)` fills with as much as has arrived, and the whole frames cut from it in order.
///
/// Guarantees: a frame is handed out only when all its bytes are in, so one read that brings several frames gives
/// each in turn without another system call, and a frame split across reads (at any byte) waits for its rest; a
/// length above the limit is refused before anything is allocated for it. Cost: no allocation per frame; the
/// payload handed out is a view into the buffer (no copy). The buffer starts at 64 KiB, grows to fit the largest
/// frame seen, and goes back to 64 KiB once a frame over 4 MiB has been taken and nothing else is buffered.
struct FrameInbox: ~Copyable {
    static let initialCapacity = 64 << 10
    /// Above this, an emptied buffer is released rather than kept for the next message.
    static let keptCapacity = 4 << 20

    private var storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0

    init() {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.initialCapacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Bytes received but not yet taken as a frame: the part of an unfinished frame, when no whole frame is left.
    var bufferedBytes: Int { end - start }

    /// The declared payload length of the frame at the front, once its header is in.
    private var frontLength: Int? {
        guard end - start >= 4 else { return nil }
        return Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
    }

    /// Takes the next whole frame and passes its payload to `body` (valid only inside `body`); `nil` without
    /// calling `body` when no whole frame is buffered.
    /// - Throws: `.malformedData` naming `source` when the next frame declares more than `limit` bytes (the stream
    ///   cannot be trusted after that), or what `body` throws.
    mutating func takeFrame<Result>(limit: Int, source: @autoclosure () -> String,
                                    _ body: (UnsafeRawBufferPointer) throws(ShakedownError) -> Result) throws(ShakedownError) -> Result? {
        guard let length = frontLength else { return nil }
        guard length <= limit else { throw frameTooLarge(length, limit: limit, source: source()) }
        guard end - start >= 4 + length else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: storage[(start + 4)..<(start + 4 + length)])
        start += 4 + length
        defer { if start == end { emptied() } }
        return try body(payload)
    }

    /// Room to `recv(2)` into: at least the rest of the frame at the front (once its header is in) and at least
    /// 4 KiB, moving the unfinished frame to the front or growing the buffer when needed.
    /// - Throws: `.malformedData` naming `source` when the frame at the front declares more than `limit` bytes.
    mutating func freeSpace(limit: Int, source: @autoclosure () -> String) throws(ShakedownError) -> UnsafeMutableRawBufferPointer {
        if start == end { start = 0; end = 0 }
        var wanted = 4096
        if let length = frontLength {
            guard length <= limit else { throw frameTooLarge(length, limit: limit, source: source()) }
            wanted = max(wanted, 4 + length - (end - start))
        }
        if storage.count - end < wanted, start > 0 {
            // Moving only the unfinished tail: each byte moves at most once per frame it belongs to.
            storage.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[start..<end]))  // memmove: may overlap
            end -= start
            start = 0
        }
        if storage.count - end < wanted {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: max(storage.count * 2, end + wanted), alignment: 16)
            grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[..<end]))
            storage.deallocate()
            storage = grown
        }
        return UnsafeMutableRawBufferPointer(rebasing: storage[end...])
    }

    /// Counts `count` bytes just read into ``freeSpace(limit:source:)``.
    mutating func didRead(_ count: Int) {
        end += min(max(0, count), storage.count - end)
    }

    private mutating func emptied() {
        start = 0
        end = 0
        if storage.count > Self.keptCapacity {
            storage.deallocate()
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.initialCapacity, alignment: 16)
        }
    }
}

/// The error for a frame header that declares more bytes than the receiver accepts.
private func frameTooLarge(_ length: Int, limit: Int, source: String) -> ShakedownError {
    ShakedownError(.malformedData(source: source, reason: "frame of \(length) bytes exceeds maximumMessageBytes \(limit)"))
}

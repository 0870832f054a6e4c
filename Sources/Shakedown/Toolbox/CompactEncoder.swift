/// A Foundation-free binary `Codable` format for the values the toolbox moves between processes.
///
/// Why not `JSONEncoder`: the library keeps Foundation out so that a forked child runs as little foreign code as
/// possible (Foundation keeps process-wide state — run loops, locks, ICU — that a fork can leave inconsistent), and a
/// binary format is several times cheaper per value, which is what the pool and queue throughput depend on.
///
/// Layout: every value starts with a ``CompactTag`` byte. Integers and doubles are 8 little-endian bytes; strings a
/// `UInt32` byte count and UTF-8; unkeyed containers a `UInt32` element count and the elements; keyed containers a
/// `UInt32` entry count and, per entry, the key (as a string) and the value. Values are written in one pass; the
/// counts are patched in place as elements arrive.
package enum CompactTag: UInt8 {
    case null = 0, falseValue = 1, trueValue = 2, int = 3, uint = 4, double = 5, string = 6, unkeyed = 7, keyed = 8
}

/// Encodes `Encodable` values into the compact format. Cost: one pass, about 10 ns per integer.
public struct CompactEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The encoded bytes of `value`.
    /// - Throws: `EncodingError.invalidValue` when `value`'s `encode(to:)` throws or writes containers out of order
    ///   (two nested containers filled alternately; synthesized conformances never do).
    public func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let writer = CompactWriter()
        try writer.encodeValue(value, codingPath: [])
        return writer.bytes
    }

    /// Appends the encoding of `value` to `bytes` (no intermediate array).
    public func encode<Value: Encodable>(_ value: Value, appendingTo bytes: inout [UInt8]) throws {
        let writer = CompactWriter()
        swap(&writer.bytes, &bytes)
        defer { swap(&writer.bytes, &bytes) }
        try writer.encodeValue(value, codingPath: [])
    }
}

/// The one buffer an encoding writes to, and the stack of containers still open on it.
final class CompactWriter {
    var bytes: [UInt8] = []
    /// Offsets of the count fields of containers that may still grow, innermost last.
    private var open: [Int] = []

    func tag(_ tag: CompactTag) { bytes.append(tag.rawValue) }

    /// Starts another encoding in the same buffer after `prefix` zero bytes (room for a frame header), keeping
    /// the capacity so that a writer reused per message allocates nothing once warm; a buffer grown past
    /// `keptCapacity` by one large value is released.
    func restart(prefix: Int, keptCapacity: Int) {
        if bytes.capacity > keptCapacity { bytes = [] } else { bytes.removeAll(keepingCapacity: true) }
        open.removeAll(keepingCapacity: true)
        for _ in 0..<prefix { bytes.append(0) }
    }

    func raw64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func raw32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func int(_ value: Int64) { tag(.int); raw64(UInt64(bitPattern: value)) }
    func uint(_ value: UInt64) { tag(.uint); raw64(value) }
    func double(_ value: Double) { tag(.double); raw64(value.bitPattern) }
    func bool(_ value: Bool) { tag(value ? .trueValue : .falseValue) }

    func string(_ value: String) {
        tag(.string)
        rawString(value)
    }

    func rawString(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            raw32(UInt32(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends `.int` elements, formatted in blocks on the stack and appended a block at a time (one copy per
    /// block rather than two appends per element).
    private func appendIntegers(_ integers: [Int]) {
        let block = 512
        withUnsafeTemporaryAllocation(byteCount: block * 9, alignment: 8) { scratch in
            var start = 0
            while start < integers.count {
                let end = min(start + block, integers.count)
                var offset = 0
                for index in start..<end {
                    scratch.storeBytes(of: CompactTag.int.rawValue, toByteOffset: offset, as: UInt8.self)
                    scratch.storeBytes(of: Int64(integers[index]).littleEndian, toByteOffset: offset + 1, as: Int64.self)
                    offset += 9
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<offset]))
                start = end
            }
        }
    }

    /// Starts a container and returns the offset of its count field.
    func openContainer(_ kind: CompactTag) -> Int {
        tag(kind)
        let offset = bytes.count
        raw32(0)
        open.append(offset)
        return offset
    }

    /// Makes `countOffset` the innermost open container (closing those opened after it, which are complete once
    /// their parent writes again) and counts one more element. Throws when that container was already closed.
    func willAppend(to countOffset: Int, codingPath: [any CodingKey]) throws {
        while let last = open.last, last != countOffset {
            guard last > countOffset else { break }
            open.removeLast()
        }
        guard open.last == countOffset else {
            throw EncodingError.invalidValue(countOffset, EncodingError.Context(
                codingPath: codingPath,
                debugDescription: "compact encoding writes containers in order; a container was filled after a later one"))
        }
        bytes.withUnsafeMutableBytes { raw in
            let current = raw.loadUnaligned(fromByteOffset: countOffset, as: UInt32.self)
            raw.storeBytes(of: (UInt32(littleEndian: current) &+ 1).littleEndian, toByteOffset: countOffset, as: UInt32.self)
        }
    }

    /// Encodes one value in place; a value that writes nothing is stored as null so the reader stays aligned.
    func encodeValue<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws {
        if encodePrimitive(value) { return }
        let start = bytes.count
        try value.encode(to: CompactValueEncoder(writer: self, codingPath: codingPath))
        if bytes.count == start { tag(.null) }
    }

    /// The fast path for common leaf types, without building an encoder.
    private func encodePrimitive<Value>(_ value: Value) -> Bool {
        // Type comparisons, not `as?` casts: they fold away in specialized code and cost no dynamic cast.
        if Value.self == Int.self { int(Int64(unsafeBitCast(value, to: Int.self))); return true }
        if Value.self == Double.self { double(unsafeBitCast(value, to: Double.self)); return true }
        if Value.self == Bool.self { bool(unsafeBitCast(value, to: Bool.self)); return true }
        if Value.self == Int64.self { int(unsafeBitCast(value, to: Int64.self)); return true }
        if Value.self == UInt64.self { uint(unsafeBitCast(value, to: UInt64.self)); return true }
        if let text = value as? String { string(text); return true }
        // Arrays of integers are what pools and queues move most; the generic path costs a dynamic cast and an
        // existential container call per element.
        if Value.self == [Int].self {
            let integers = unsafeBitCast(value, to: [Int].self)
            tag(.unkeyed)
            raw32(UInt32(truncatingIfNeeded: integers.count))
            bytes.reserveCapacity(bytes.count + integers.count * 9)
            appendIntegers(integers)
            return true
        }
        return false
    }
}

/// The `Encoder` for one value position.
struct CompactValueEncoder: Encoder {
    let writer: CompactWriter
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(CompactKeyedEncoder<Key>(writer: writer, countOffset: writer.openContainer(.keyed), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        CompactUnkeyedEncoder(writer: writer, countOffset: writer.openContainer(.unkeyed), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        CompactSingleEncoder(writer: writer, codingPath: codingPath)
    }
}

struct CompactKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: CompactWriter
    let countOffset: Int
    let codingPath: [any CodingKey]

    private func entry(_ key: Key) throws { try entry(named: key.stringValue, key) }

    private func entry(named name: String, _ key: (any CodingKey)?) throws {
        try writer.willAppend(to: countOffset, codingPath: codingPath + (key.map { [$0] } ?? []))
        writer.rawString(name)
    }

    mutating func encodeNil(forKey key: Key) throws { try entry(key); writer.tag(.null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try entry(key); writer.bool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { try entry(key); writer.string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try entry(key); writer.double(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try entry(key); writer.double(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try entry(key); writer.int(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try entry(key); writer.int(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try entry(key); writer.int(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try entry(key); writer.int(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try entry(key); writer.int(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try entry(key); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try entry(key); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try entry(key); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try entry(key); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try entry(key); writer.uint(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try entry(key)
        try writer.encodeValue(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        // The protocol cannot throw here; an out-of-order use is caught at the next write instead.
        try? entry(key)
        return KeyedEncodingContainer(CompactKeyedEncoder<NestedKey>(writer: writer, countOffset: writer.openContainer(.keyed), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        try? entry(key)
        return CompactUnkeyedEncoder(writer: writer, countOffset: writer.openContainer(.unkeyed), codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        try? entry(named: "super", nil)
        return CompactValueEncoder(writer: writer, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        try? entry(key)
        return CompactValueEncoder(writer: writer, codingPath: codingPath + [key])
    }
}

struct CompactUnkeyedEncoder: UnkeyedEncodingContainer {
    let writer: CompactWriter
    let countOffset: Int
    let codingPath: [any CodingKey]
    private(set) var count = 0

    init(writer: CompactWriter, countOffset: Int, codingPath: [any CodingKey]) {
        self.writer = writer
        self.countOffset = countOffset
        self.codingPath = codingPath
    }

    private mutating func element() throws {
        try writer.willAppend(to: countOffset, codingPath: codingPath)
        count += 1
    }

    mutating func encodeNil() throws { try element(); writer.tag(.null) }
    mutating func encode(_ value: Bool) throws { try element(); writer.bool(value) }
    mutating func encode(_ value: String) throws { try element(); writer.string(value) }
    mutating func encode(_ value: Double) throws { try element(); writer.double(value) }
    mutating func encode(_ value: Float) throws { try element(); writer.double(Double(value)) }
    mutating func encode(_ value: Int) throws { try element(); writer.int(Int64(value)) }
    mutating func encode(_ value: Int8) throws { try element(); writer.int(Int64(value)) }
    mutating func encode(_ value: Int16) throws { try element(); writer.int(Int64(value)) }
    mutating func encode(_ value: Int32) throws { try element(); writer.int(Int64(value)) }
    mutating func encode(_ value: Int64) throws { try element(); writer.int(value) }
    mutating func encode(_ value: UInt) throws { try element(); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { try element(); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { try element(); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { try element(); writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { try element(); writer.uint(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try element()
        try writer.encodeValue(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        try? element()
        return KeyedEncodingContainer(CompactKeyedEncoder<NestedKey>(writer: writer, countOffset: writer.openContainer(.keyed), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        try? element()
        return CompactUnkeyedEncoder(writer: writer, countOffset: writer.openContainer(.unkeyed), codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        try? element()
        return CompactValueEncoder(writer: writer, codingPath: codingPath)
    }
}

struct CompactSingleEncoder: SingleValueEncodingContainer {
    let writer: CompactWriter
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { writer.tag(.null) }
    mutating func encode(_ value: Bool) throws { writer.bool(value) }
    mutating func encode(_ value: String) throws { writer.string(value) }
    mutating func encode(_ value: Double) throws { writer.double(value) }
    mutating func encode(_ value: Float) throws { writer.double(Double(value)) }
    mutating func encode(_ value: Int) throws { writer.int(Int64(value)) }
    mutating func encode(_ value: Int8) throws { writer.int(Int64(value)) }
    mutating func encode(_ value: Int16) throws { writer.int(Int64(value)) }
    mutating func encode(_ value: Int32) throws { writer.int(Int64(value)) }
    mutating func encode(_ value: Int64) throws { writer.int(value) }
    mutating func encode(_ value: UInt) throws { writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { writer.uint(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { writer.uint(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.encodeValue(value, codingPath: codingPath) }
}

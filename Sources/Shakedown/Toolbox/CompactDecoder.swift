/// Decodes values written by ``CompactEncoder``.
///
/// Bytes from another process are untrusted: every length is checked against the input, so garbage gives a
/// `DecodingError`, never a crash or an out-of-bounds read. Cost: one pass; keyed containers build a small index of
/// their keys.
public struct CompactDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes a `Value` from `bytes`.
    /// - Throws: `DecodingError` when the bytes are not a complete encoding of a `Value`.
    public func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try bytes.withUnsafeBytes { raw throws -> Value in try decode(type, from: raw) }
    }

    /// Decodes a `Value` from the bytes `raw` points to (read only during the call; nothing keeps a reference).
    /// - Throws: `DecodingError` when the bytes are not a complete encoding of a `Value`.
    public func decode<Value: Decodable>(_ type: Value.Type, from raw: UnsafeRawBufferPointer) throws -> Value {
        let reader = CompactReader(raw)
        if Value.self == [Int].self {
            // The pool's chunks: read in one loop that also finds the end, instead of a second walk to check it.
            let (integers, end) = try reader.integers(at: 0, [])
            guard end == raw.count else { throw reader.corrupt("\(raw.count - end) bytes after the value", []) }
            return unsafeBitCast(integers, to: Value.self)
        }
        let value = try reader.decodeValue(type, at: 0, codingPath: [])
        let end = try reader.skip(0, codingPath: [])
        guard end == raw.count else {
            throw reader.corrupt("\(raw.count - end) bytes after the value", [])
        }
        return value
    }
}

/// A bounds-checked view of the encoded bytes; valid only inside `decode(_:from:)`.
final class CompactReader {
    let raw: UnsafeRawBufferPointer

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    func corrupt(_ reason: String, _ codingPath: [any CodingKey]) -> DecodingError {
        .dataCorrupted(DecodingError.Context(codingPath: codingPath, debugDescription: "compact encoding: \(reason)"))
    }

    func tag(at offset: Int, _ codingPath: [any CodingKey]) throws -> CompactTag {
        guard offset < raw.count else { throw corrupt("value missing at byte \(offset)", codingPath) }
        guard let tag = CompactTag(rawValue: raw[offset]) else {
            throw corrupt("unknown tag \(raw[offset]) at byte \(offset)", codingPath)
        }
        return tag
    }

    func raw64(at offset: Int, _ codingPath: [any CodingKey]) throws -> UInt64 {
        guard offset >= 0, offset + 8 <= raw.count else { throw corrupt("truncated at byte \(offset)", codingPath) }
        return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    func raw32(at offset: Int, _ codingPath: [any CodingKey]) throws -> Int {
        guard offset >= 0, offset + 4 <= raw.count else { throw corrupt("truncated at byte \(offset)", codingPath) }
        return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// A string whose length field is at `offset`; returns it and the offset after it.
    func rawString(at offset: Int, _ codingPath: [any CodingKey]) throws -> (String, Int) {
        let length = try raw32(at: offset, codingPath)
        let start = offset + 4
        guard start + length <= raw.count else { throw corrupt("string runs past the end", codingPath) }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]), as: UTF8.self)
        return (text, start + length)
    }

    /// Containers nested deeper than this are refused: garbage of repeated container headers must not recurse
    /// until the stack overflows.
    static let maximumDepth = 512

    /// The offset just after the value at `offset`.
    func skip(_ offset: Int, codingPath: [any CodingKey], depth: Int = 0) throws -> Int {
        guard depth < Self.maximumDepth else { throw corrupt("containers nested deeper than \(Self.maximumDepth)", codingPath) }
        switch try tag(at: offset, codingPath) {
        case .null, .falseValue, .trueValue: return offset + 1
        case .int, .uint, .double:
            guard offset + 9 <= raw.count else { throw corrupt("truncated number", codingPath) }
            return offset + 9
        case .string: return try rawString(at: offset + 1, codingPath).1
        case .unkeyed:
            let count = try raw32(at: offset + 1, codingPath)
            var next = offset + 5
            for _ in 0..<count {
                // Numbers (the usual element) are stepped over here, without a call per element.
                if next + 9 <= raw.count, (CompactTag.int.rawValue...CompactTag.double.rawValue).contains(raw[next]) {
                    next += 9
                } else {
                    next = try skip(next, codingPath: codingPath, depth: depth + 1)
                }
            }
            return next
        case .keyed:
            let count = try raw32(at: offset + 1, codingPath)
            var next = offset + 5
            for _ in 0..<count { next = try skip(try rawString(at: next, codingPath).1, codingPath: codingPath, depth: depth + 1) }
            return next
        }
    }

    func int(at offset: Int, _ codingPath: [any CodingKey]) throws -> Int64 {
        switch try tag(at: offset, codingPath) {
        case .int: return Int64(bitPattern: try raw64(at: offset + 1, codingPath))
        case .uint:
            let value = try raw64(at: offset + 1, codingPath)
            guard value <= UInt64(Int64.max) else { throw corrupt("\(value) does not fit Int64", codingPath) }
            return Int64(value)
        case let other: throw corrupt("expected an integer, found \(other)", codingPath)
        }
    }

    func uint(at offset: Int, _ codingPath: [any CodingKey]) throws -> UInt64 {
        switch try tag(at: offset, codingPath) {
        case .uint: return try raw64(at: offset + 1, codingPath)
        case .int:
            let value = Int64(bitPattern: try raw64(at: offset + 1, codingPath))
            guard value >= 0 else { throw corrupt("\(value) is negative", codingPath) }
            return UInt64(value)
        case let other: throw corrupt("expected an unsigned integer, found \(other)", codingPath)
        }
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, _ codingPath: [any CodingKey]) throws -> T {
        if T.isSigned {
            let value = try int(at: offset, codingPath)
            guard let exact = T(exactly: value) else { throw corrupt("\(value) does not fit \(T.self)", codingPath) }
            return exact
        }
        let value = try uint(at: offset, codingPath)
        guard let exact = T(exactly: value) else { throw corrupt("\(value) does not fit \(T.self)", codingPath) }
        return exact
    }

    func double(at offset: Int, _ codingPath: [any CodingKey]) throws -> Double {
        switch try tag(at: offset, codingPath) {
        case .double: return Double(bitPattern: try raw64(at: offset + 1, codingPath))
        case .int: return Double(try int(at: offset, codingPath))
        case .uint: return Double(try uint(at: offset, codingPath))
        case let other: throw corrupt("expected a number, found \(other)", codingPath)
        }
    }

    func bool(at offset: Int, _ codingPath: [any CodingKey]) throws -> Bool {
        switch try tag(at: offset, codingPath) {
        case .trueValue: return true
        case .falseValue: return false
        case let other: throw corrupt("expected a Bool, found \(other)", codingPath)
        }
    }

    func string(at offset: Int, _ codingPath: [any CodingKey]) throws -> String {
        let found = try tag(at: offset, codingPath)
        guard found == .string else { throw corrupt("expected a String, found \(found)", codingPath) }
        return try rawString(at: offset + 1, codingPath).0
    }

    func decodeValue<T: Decodable>(_ type: T.Type, at offset: Int, codingPath: [any CodingKey]) throws -> T {
        if let primitive = try decodePrimitive(type, at: offset, codingPath) { return primitive }
        return try T(from: CompactValueDecoder(reader: self, offset: offset, codingPath: codingPath))
    }

    /// The fast path for common leaf types.
    private func decodePrimitive<T>(_ type: T.Type, at offset: Int, _ codingPath: [any CodingKey]) throws -> T? {
        if T.self == Int.self { return try integer(Int.self, at: offset, codingPath) as? T }
        if T.self == String.self { return try string(at: offset, codingPath) as? T }
        if T.self == Double.self { return try double(at: offset, codingPath) as? T }
        if T.self == Bool.self { return try bool(at: offset, codingPath) as? T }
        if T.self == [Int].self { return try integers(at: offset, codingPath).values as? T }
        return nil
    }

    /// An unkeyed container of integers, read in one loop (see the encoder's matching fast path), and the offset
    /// after it. The bounds are checked once for the whole array; an element that is not a plain `.int` takes the
    /// checked path.
    func integers(at offset: Int, _ codingPath: [any CodingKey]) throws -> (values: [Int], end: Int) {
        let found = try tag(at: offset, codingPath)
        guard found == .unkeyed else { throw corrupt("expected an array, found \(found)", codingPath) }
        let count = try raw32(at: offset + 1, codingPath)
        let first = offset + 5
        guard count <= (raw.count - first) / 9 else { throw corrupt("array of \(count) runs past the end", codingPath) }
        var result: [Int] = []
        result.reserveCapacity(count)
        var next = first
        for _ in 0..<count {
            if raw[next] == CompactTag.int.rawValue {
                result.append(Int(truncatingIfNeeded: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: next + 1, as: Int64.self))))
            } else {
                result.append(try integer(Int.self, at: next, codingPath))
            }
            next += 9
        }
        return (result, next)
    }
}

struct CompactValueDecoder: Decoder {
    let reader: CompactReader
    let offset: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try CompactKeyedDecoder<Key>(reader: reader, offset: offset, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try CompactUnkeyedDecoder(reader: reader, offset: offset, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        CompactSingleDecoder(reader: reader, offset: offset, codingPath: codingPath)
    }
}

struct CompactKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: CompactReader
    let codingPath: [any CodingKey]
    /// Where each key's value starts.
    private let entries: [String: Int]

    init(reader: CompactReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.reader = reader
        self.codingPath = codingPath
        let found = try reader.tag(at: offset, codingPath)
        guard found == .keyed else { throw reader.corrupt("expected a keyed container, found \(found)", codingPath) }
        let count = try reader.raw32(at: offset + 1, codingPath)
        var entries: [String: Int] = [:]
        entries.reserveCapacity(min(count, 64))
        var next = offset + 5
        for _ in 0..<count {
            let (key, valueOffset) = try reader.rawString(at: next, codingPath)
            entries[key] = valueOffset
            next = try reader.skip(valueOffset, codingPath: codingPath)
        }
        self.entries = entries
    }

    var allKeys: [Key] { entries.keys.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { entries[key.stringValue] != nil }

    private func offset(_ key: Key) throws -> Int {
        guard let offset = entries[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return offset
    }

    func decodeNil(forKey key: Key) throws -> Bool { try reader.tag(at: try offset(key), codingPath) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try reader.bool(at: try offset(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try reader.string(at: try offset(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try reader.double(at: try offset(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try reader.double(at: try offset(key), codingPath + [key])) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try reader.integer(type, at: try offset(key), codingPath + [key]) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try reader.decodeValue(type, at: try offset(key), codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try CompactKeyedDecoder<NestedKey>(reader: reader, offset: try offset(key), codingPath: codingPath + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try CompactUnkeyedDecoder(reader: reader, offset: try offset(key), codingPath: codingPath + [key])
    }

    func superDecoder() throws -> any Decoder {
        guard let offset = entries["super"] else { throw reader.corrupt("no super value", codingPath) }
        return CompactValueDecoder(reader: reader, offset: offset, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        CompactValueDecoder(reader: reader, offset: try offset(key), codingPath: codingPath + [key])
    }
}

struct CompactUnkeyedDecoder: UnkeyedDecodingContainer {
    let reader: CompactReader
    let codingPath: [any CodingKey]
    let count: Int?
    private(set) var currentIndex = 0
    private var next: Int

    init(reader: CompactReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.reader = reader
        self.codingPath = codingPath
        let found = try reader.tag(at: offset, codingPath)
        guard found == .unkeyed else { throw reader.corrupt("expected an unkeyed container, found \(found)", codingPath) }
        count = try reader.raw32(at: offset + 1, codingPath)
        next = offset + 5
    }

    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    /// The offset of the next element, advancing past it.
    private mutating func take() throws -> Int {
        guard !isAtEnd else { throw reader.corrupt("no element \(currentIndex); the container has \(count ?? 0)", codingPath) }
        let offset = next
        next = try reader.skip(offset, codingPath: codingPath)
        currentIndex += 1
        return offset
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, try reader.tag(at: next, codingPath) == .null else { return false }
        _ = try take()
        return true
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(at: try take(), codingPath) }
    mutating func decode(_ type: String.Type) throws -> String { try reader.string(at: try take(), codingPath) }
    mutating func decode(_ type: Double.Type) throws -> Double { try reader.double(at: try take(), codingPath) }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try reader.double(at: try take(), codingPath)) }
    mutating func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, at: try take(), codingPath) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try reader.decodeValue(type, at: try take(), codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try CompactKeyedDecoder<NestedKey>(reader: reader, offset: try take(), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try CompactUnkeyedDecoder(reader: reader, offset: try take(), codingPath: codingPath)
    }

    mutating func superDecoder() throws -> any Decoder {
        CompactValueDecoder(reader: reader, offset: try take(), codingPath: codingPath)
    }
}

struct CompactSingleDecoder: SingleValueDecodingContainer {
    let reader: CompactReader
    let offset: Int
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { (try? reader.tag(at: offset, codingPath)) == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(at: offset, codingPath) }
    func decode(_ type: String.Type) throws -> String { try reader.string(at: offset, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try reader.double(at: offset, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try reader.double(at: offset, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, at: offset, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, at: offset, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try reader.decodeValue(type, at: offset, codingPath: codingPath) }
}

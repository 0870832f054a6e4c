import XCTest
@testable import Shakedown

final class CompactCoderTests: XCTestCase {
    struct Order: Codable, Equatable {
        enum State: String, Codable { case open, shipped }
        var id: Int
        var customer: String
        var lines: [Line]
        var state: State
        var note: String?
        var weights: [String: Double]
        var flags: Set<UInt8>
        var small: Int8
    }

    struct Line: Codable, Equatable {
        var sku: String
        var quantity: UInt32
    }

    func testRoundTripOfNestedStructsOptionalsDictionariesAndSets() throws {
        let order = Order(id: -42, customer: "Zoë", lines: [Line(sku: "a", quantity: 3), Line(sku: "", quantity: .max)],
                          state: .shipped, note: nil, weights: ["x": 1.5, "y": -0.25], flags: [1, 200], small: -128)
        let bytes = try CompactEncoder().encode(order)
        XCTAssertEqual(try CompactDecoder().decode(Order.self, from: bytes), order)
        var withNote = order
        withNote.note = "fragile"
        XCTAssertEqual(try CompactDecoder().decode(Order.self, from: CompactEncoder().encode(withNote)), withNote)
    }

    func testTopLevelPrimitivesAndArrays() throws {
        for value in [0, 1, -1, Int.max, Int.min] {
            XCTAssertEqual(try CompactDecoder().decode(Int.self, from: CompactEncoder().encode(value)), value)
        }
        XCTAssertEqual(try CompactDecoder().decode([Int].self, from: CompactEncoder().encode(Array(0..<1000))), Array(0..<1000))
        XCTAssertEqual(try CompactDecoder().decode([[String]].self, from: CompactEncoder().encode([["a"], [], ["b", "c"]])), [["a"], [], ["b", "c"]])
        XCTAssertEqual(try CompactDecoder().decode(Int?.self, from: CompactEncoder().encode(Int?.none)), nil)
    }

    func testGarbageAndTruncationAreDecodingErrorsNotCrashes() throws {
        let bytes = try CompactEncoder().encode(Line(sku: "abc", quantity: 7))
        for cut in 0..<bytes.count {
            XCTAssertThrowsError(try CompactDecoder().decode(Line.self, from: Array(bytes[0..<cut])), "cut at \(cut)")
        }
        XCTAssertThrowsError(try CompactDecoder().decode(Line.self, from: bytes + [0]), "trailing byte")
        XCTAssertThrowsError(try CompactDecoder().decode(Int.self, from: [3, 1, 2]), "short integer")
        XCTAssertThrowsError(try CompactDecoder().decode([Int].self, from: [7, 0xFF, 0xFF, 0xFF, 0xFF]), "huge count")
        XCTAssertThrowsError(try CompactDecoder().decode(Int8.self, from: CompactEncoder().encode(300)), "out of range")
        XCTAssertThrowsError(try CompactDecoder().decode(String.self, from: [99]), "unknown tag")
        // 100,000 nested array headers: refused at the depth limit instead of overflowing the stack.
        let nested: [UInt8] = (0..<500_000).map { $0 % 5 == 0 ? 7 : ($0 % 5 == 1 ? 1 : 0) }
        XCTAssertThrowsError(try CompactDecoder().decode([[Int]].self, from: nested)) { error in
            XCTAssertTrue("\(error)".contains("nested deeper than 512"), "\(error)")
        }
    }

    /// The integer-array fast paths (formatted in blocks of 512 when encoding, read in one loop when decoding)
    /// agree with the generic path element for element, across block edges and for every element kind.
    func testIntegerArraysAcrossBlockEdgesAndMixedElements() throws {
        for count in [0, 1, 511, 512, 513, 1024, 1025, 5000] {
            let values = (0..<count).map { $0 % 3 == 0 ? -$0 : $0 &* 7_919 }
            let fast = try CompactEncoder().encode(values)
            // The same array through the generic (element by element) path: a wrapper the fast path does not know.
            struct Wrapped: Encodable { let values: [Int]
                func encode(to encoder: any Encoder) throws {
                    var container = encoder.unkeyedContainer()
                    for value in values { try container.encode(value) }
                }
            }
            XCTAssertEqual(fast, try CompactEncoder().encode(Wrapped(values: values)), "count \(count)")
            XCTAssertEqual(try CompactDecoder().decode([Int].self, from: fast), values, "count \(count)")
            XCTAssertThrowsError(try CompactDecoder().decode([Int].self, from: fast + [0]), "trailing byte, count \(count)")
            if count > 0 {
                XCTAssertThrowsError(try CompactDecoder().decode([Int].self, from: Array(fast.dropLast())), "truncated, count \(count)")
            }
        }
        // Elements the loop does not read itself take the checked path: a UInt that fits, one that does not, a string.
        let unsigned: [UInt] = [1, 2, 3]
        XCTAssertEqual(try CompactDecoder().decode([Int].self, from: CompactEncoder().encode(unsigned)), [1, 2, 3])
        XCTAssertThrowsError(try CompactDecoder().decode([Int].self, from: CompactEncoder().encode([UInt.max])))
        XCTAssertThrowsError(try CompactDecoder().decode([Int].self, from: CompactEncoder().encode(["x", "y"])))
        // A keyed value holding a long numeric array is stepped over correctly by the end check.
        struct Holder: Codable, Equatable { var numbers: [Double]; var tail: String }
        let holder = Holder(numbers: (0..<2000).map { Double($0) / 4 }, tail: "end")
        XCTAssertEqual(try CompactDecoder().decode(Holder.self, from: CompactEncoder().encode(holder)), holder)
    }
}

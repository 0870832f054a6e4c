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
    }
}

import Foundation
import XCTest
import Shakedown

/// Untrusted text is shown, not obeyed: escape codes become visible text.
final class TerminalTextTests: XCTestCase {
    func testControlCharactersBecomeVisibleExceptNewlineAndTab() {
        let hostile = "\u{1B}[2J\u{1B}[Hclean\r\u{7}\u{0}ok\ttab\nnext\u{7F}\u{9B}31m\u{202E}txt"
        let shown = TerminalText.escaped(hostile)
        XCTAssertFalse(shown.unicodeScalars.contains { TerminalText.needsEscape($0) }, shown)
        XCTAssertEqual(shown, "\\u{1B}[2J\\u{1B}[Hclean\\u{D}\\u{7}\\u{0}ok\ttab\nnext\\u{7F}\\u{9B}31m\\u{202E}txt")
        let plain = "plain text, ünïcödé, 日本語\n\tindented"
        XCTAssertEqual(TerminalText.escaped(plain), plain)
    }

    /// Before: the bidirectional marks and the Unicode line separators passed through, so a program could reorder a
    /// line of the report or start what looks like a new one (a fake verdict) without any C0 control.
    func testBidiMarksAndUnicodeLineSeparatorsAreEscaped() throws {
        let hostile = "FAIL\u{2028}clean \u{200E}a\u{200F}b\u{061C}c\u{2029}"
        XCTAssertEqual(TerminalText.escaped(hostile), "FAIL\\u{2028}clean \\u{200E}a\\u{200F}b\\u{61C}c\\u{2029}")
        let json = "{\"a\" : \"x\u{2028}y\u{200F}\"}"
        let escaped = TerminalText.jsonEscaped(json)
        XCTAssertEqual(escaped, "{\"a\" : \"x\\u2028y\\u200f\"}")
        let decoded = try JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String]
        XCTAssertEqual(decoded?["a"], "x\u{2028}y\u{200F}")
    }

    func testInvalidUTF8BytesAreShownAsEscapes() {
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xC3, 0xA9, 0xE2, 0x82, 0x1B, 0xC0, 0xAF, 0xED, 0xA0, 0x80]
        XCTAssertEqual(TerminalText.escaped(bytes: bytes),
                       "a\\x{FF}bé\\x{E2}\\x{82}\\u{1B}\\x{C0}\\x{AF}\\x{ED}\\x{A0}\\x{80}")
        XCTAssertEqual(TerminalText.escaped(bytes: Array("ok\n".utf8)), "ok\n")
    }

    func testJSONKeepsItsMeaningWithC1AndDELEscaped() throws {
        let json = "{\"a\" : \"x\u{9B}y\u{7F}\"}"
        let escaped = TerminalText.jsonEscaped(json)
        XCTAssertEqual(escaped, "{\"a\" : \"x\\u009by\\u007f\"}")
        let decoded = try JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String]
        XCTAssertEqual(decoded?["a"], "x\u{9B}y\u{7F}")
    }
}

/// Makes untrusted text (a command's output, its argv, a crash message) safe to print on a terminal.
///
/// A program under test can print escape sequences that clear the screen, move the cursor, rewrite a line with a
/// carriage return or retitle the window, and so print a fake "clean" verdict over a real one. Every text
/// rendering of such text goes through ``escaped(_:)``: C0 controls other than newline and tab, DEL, the C1
/// controls (U+0080–U+009F, which some terminals treat like ESC sequences), the bidirectional overrides, isolates
/// and marks (which reorder what is shown) and the line and paragraph separators U+2028 and U+2029 become visible `\u{1B}`-style text. Invalid UTF-8, when the input is
/// bytes, becomes `\x{FF}`-style text. JSONEncoder escapes the C0 controls in JSON output, but not DEL, C1 or bidi controls: ``jsonEscaped(_:)``
/// escapes those too.
public enum TerminalText {
    /// `text` with every control character except `\n` and `\t` written as `\u{HEX}`.
    /// - Cost: one pass over the scalars; text without controls is returned as is, without copying.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Encoded JSON with every scalar that ``needsEscape(_:)`` (other than the layout's own newlines) written as a
    /// `\uXXXX` escape. Valid JSON in, the same JSON out: such scalars can only occur inside string literals.
    /// - Cost: one pass; JSON without them is returned as is.
    public static func jsonEscaped(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: needsEscape) else { return json }
        var result = ""
        result.reserveCapacity(json.utf8.count + 16)
        for scalar in json.unicodeScalars {
            if needsEscape(scalar) {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Decodes `bytes` as UTF-8, writing each byte that is not part of a valid sequence as `\x{HEX}` and
    /// escaping controls as ``escaped(_:)`` does.
    /// - Cost: one pass over the bytes.
    public static func escaped(bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var result = ""
        var position = 0
        while position < bytes.count {
            let length = sequenceLength(lead: bytes[position])
            if length > 0, position + length <= bytes.count,
               let scalar = String(validating: bytes[position ..< position + length], as: UTF8.self) {
                result += escaped(scalar)
                position += length
            } else {
                result += "\\x{" + String(bytes[position], radix: 16, uppercase: true) + "}"
                position += 1
            }
        }
        return result
    }

    /// How many bytes a UTF-8 sequence starting with `lead` has; 0 for a byte that cannot start one.
    private static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return 2
        case 0xE0...0xEF: return 3
        case 0xF0...0xF4: return 4
        default: return 0
        }
    }

    /// Whether `scalar` changes what a terminal shows instead of being shown (what ``escaped(_:)`` escapes).
    @inline(__always)
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: return false
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true
        // The bidirectional marks (LRM, RLM, ALM) reorder neighbouring text too; the line and paragraph separators
        // start a new line in some terminals and log viewers, so a program could print a line that looks like ours.
        case 0x200E, 0x200F, 0x061C, 0x2028, 0x2029: return true
        default: return false
        }
    }
}

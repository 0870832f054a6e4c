import Shakedown

/// Text from the command under test made safe for XML: what `--junit` writes is parsed by CI servers, and the
/// command's output can hold anything.
///
/// XML 1.0 forbids most control characters even as character references (`&#x1B;` is not well-formed), so they
/// cannot be escaped the XML way: they become visible `\u{1B}` text, as on a terminal (``TerminalText``), as do
/// U+FFFE and U+FFFF, which XML also forbids. Invalid UTF-8 was already replaced when the bytes became a String
/// (U+FFFD). Then `&`, `<`, `>`, `"` and `'` become entities, so the text is safe both as element content and as
/// an attribute value.
enum XMLText {
    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            // Includes the carriage return, which XML parsers turn into a newline unless it is a reference: shown as
            // text instead, as on a terminal.
            case _ where !allowed(scalar) || TerminalText.needsEscape(scalar):
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// XML 1.0's `Char` production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    /// (A Swift String holds no lone surrogates.)
    static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

}

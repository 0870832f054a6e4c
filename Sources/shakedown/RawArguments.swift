import ArgumentParser
import Shakedown

/// The process's arguments as the kernel gave them, checked for bytes that are not UTF-8.
///
/// Swift's `CommandLine.arguments` (and so every parsed option and the command after `--`) replaces such bytes
/// with U+FFFD: `shakedown run -- tool $'\xff'` would run `tool` with other bytes than given, and its replay line
/// could not name the original. Such an argument is refused (usage error 64) instead of silently changed.
enum RawArguments {
    /// Throws a usage error naming the first argument that is not valid UTF-8, its position and the byte.
    /// - Cost: one pass over the argument bytes.
    static func validateUTF8() throws {
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let length = strlenOf(pointer)
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                            count: length)
            guard String(validating: bytes, as: UTF8.self) == nil else { continue }
            throw ValidationError("argument \(index) is not valid UTF-8 ("
                + TerminalText.escaped(bytes: bytes.prefix(60)) + "): arguments are passed on as UTF-8 text, so "
                + "the command would run with U+FFFD in place of those bytes; pass UTF-8, or wrap the command in a "
                + "script that builds the bytes itself")
        }
    }

    private static func strlenOf(_ pointer: UnsafeMutablePointer<CChar>) -> Int {
        var length = 0
        while pointer[length] != 0 { length += 1 }
        return length
    }
}

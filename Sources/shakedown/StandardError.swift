#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes `text` to standard error as is (no newline added), unbuffered (file descriptor 2 directly: no `FILE`
/// global, which strict concurrency checking rejects).
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }  // nowhere left to report a failing stderr
        bytes = bytes.dropFirst(written)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// The two ends of a `pipe2(O_CLOEXEC)`.
package struct Pipe: Sendable {
    package let readEnd: CInt
    package let writeEnd: CInt

    /// - Throws: `.systemCall("pipe2")` (EMFILE when the process is out of descriptors).
    package init() throws(ShakedownError) {
        var fds: [CInt] = [-1, -1]
        try syscall("pipe2") { shakedown_pipe(&fds) }
        readEnd = fds[0]
        writeEnd = fds[1]
    }
}

/// Closes a descriptor, ignoring errors (after `close` fails the descriptor is gone on Linux anyway).
package func closeQuietly(_ fd: CInt) {
    if fd >= 0 { _ = close(fd) }
}

/// Reads whatever is available now from a non-blocking or poll-ready descriptor.
/// Returns the bytes, or `nil` at end of file or on an error other than EAGAIN/EINTR.
package func readAvailable(_ fd: CInt, into buffer: inout [UInt8]) -> ArraySlice<UInt8>? {
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count > 0 { return buffer[0..<count] }
        if count == 0 { return nil }
        switch errno {
        case EINTR: continue
        case EAGAIN: return []
        default: return nil
        }
    }
}

/// Writes all of `bytes`, retrying on EINTR and short writes. Returns false when the reader is gone.
@discardableResult
package func writeAll(_ fd: CInt, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return true }
        var offset = 0
        while offset < raw.count {
            let written = write(fd, base + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

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

/// ``writeAll(_:_:)`` for the test process, which must never die of SIGPIPE (XCTest does not ignore it): a
/// reader that already exited (the run leader, just done) gives `false` instead. SIGPIPE is blocked in this
/// thread for the write; one it raised is taken off the thread's pending set before the mask is restored, so
/// neither the signal nor a changed disposition leaks to the rest of the process.
@discardableResult
package func writeAllWithoutSIGPIPE(_ fd: CInt, _ bytes: [UInt8]) -> Bool {
    var pipeOnly = sigset_t()
    sigemptyset(&pipeOnly)
    sigaddset(&pipeOnly, SIGPIPE)
    var previous = sigset_t()
    pthread_sigmask(SIG_BLOCK, &pipeOnly, &previous)
    var pendingBefore = sigset_t()
    sigpending(&pendingBefore)
    let alreadyPending = sigismember(&pendingBefore, SIGPIPE) == 1
    let written = writeAll(fd, bytes)
    if !written && errno == EPIPE && !alreadyPending {
        var none = timespec()
        while sigtimedwait(&pipeOnly, nil, &none) < 0 && errno == EINTR {}
    }
    pthread_sigmask(SIG_SETMASK, &previous, nil)
    return written
}

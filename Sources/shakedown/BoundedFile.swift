#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file given on the command line, up to a limit: `/dev/zero` or a runaway file is refused at the
/// limit instead of filling memory.
enum BoundedFile {
    enum Failure: Error {
        /// open or read failed with this errno.
        case system(Int32)
        /// More than the limit.
        case tooLarge
    }

    static func read(_ path: String, limit: Int) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.system(errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return .failure(.system(errno)) }
            if count == 0 { return .success(bytes) }
            guard bytes.count + count <= limit else { return .failure(.tooLarge) }
            bytes += buffer[..<count]
        }
    }
}

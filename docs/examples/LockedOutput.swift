// Python: 10 Processes each print("hello world", i) while holding a Lock, so lines never interleave.
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

enum LockedOutput {
    static func main() throws {
        let lock = try ProcessMutex(name: "stdout")
        let printers = try (0..<10).map { index in
            try ForkedChild {
                try lock.withLock {
                    // Written in pieces on purpose: only the lock keeps the line whole.
                    for piece in ["hello ", "world ", "\(index)\n"] {
                        _ = piece.withCString { write(1, $0, strlen($0)) }
                        usleep(200)
                    }
                }
            }
        }
        for printer in printers { _ = try printer.join(timeout: .seconds(30)) }
        print("lock taken \(lock.acquisitions) times")
    }
}

// Python: a Semaphore(3) around a resource that 6 Processes use; at most 3 inside at once.
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

enum SemaphoreOfThree {
    static func main() throws {
        let semaphore = try ProcessSemaphore(value: 3)
        let users = try (0..<6).map { _ in
            try ForkedChild {
                for _ in 0..<5 { _ = try semaphore.withPermit(timeout: .seconds(10)) { usleep(3_000) } }
            }
        }
        for user in users { _ = try user.join(timeout: .seconds(30)) }
        print("most holders at once: \(semaphore.highWaterMark)")
    }
}

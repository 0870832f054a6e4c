// Python: a BaseManager-registered Counter object shared by 4 Processes, each calling increment() 100 times.
import Shakedown

enum SharedCounterObject {
    struct Counter: Codable {
        var value = 0
        var byProcess: [String: Int] = [:]
        mutating func increment(by process: Int) {
            value += 1
            byProcess["\(process)", default: 0] += 1
        }
    }

    static func main() throws {
        let counter = try SharedObject(Counter())
        let processes = try (0..<4).map { index in
            try ForkedChild { for _ in 0..<100 { try counter.update { $0.increment(by: index) } } }
        }
        for process in processes { _ = try process.join(timeout: .seconds(30)) }
        let final = try counter.read()
        print("value \(final.value), per process \(final.byProcess.keys.sorted().map { final.byProcess[$0] ?? 0 })")
    }
}

// Python: a JoinableQueue of tasks, N consumer Processes, one None "poison pill" per consumer, tasks.join().
import Shakedown

enum PoisonPills {
    static func main() throws {
        let consumers = 4
        let tasks = try JoinableProcessQueue<Int?>()
        let results = try ProcessQueue<Int>(capacity: 100)
        let workers = try (0..<consumers).map { _ in
            try ForkedChild {
                while case let .item(task) = try tasks.get(timeout: .seconds(10)) {
                    defer { try? tasks.taskDone() }
                    guard let task else { return }  // the pill: leave
                    try results.put(task * 10)
                }
            }
        }
        for task in 0..<20 { try tasks.put(task) }
        for _ in 0..<consumers { try tasks.put(nil) }
        let joined = try tasks.join(timeout: .seconds(30))
        for worker in workers { _ = try worker.join(timeout: .seconds(10)) }
        var answers: [Int] = []
        while case let .item(answer) = try results.get(timeout: .zero) { answers.append(answer) }
        print("join: \(joined)")
        print("results: \(answers.count), each task once: \(answers.sorted() == (0..<20).map { $0 * 10 })")
    }
}

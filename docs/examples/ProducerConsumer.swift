// Python: a producer Process puts items on a Queue, a consumer Process gets them until a None sentinel.
import Shakedown

enum ProducerConsumer {
    static func main() throws {
        let queue = try ProcessQueue<Int?>(capacity: 4)
        let total = try SharedObject([Int]())
        let producer = try ForkedChild {
            for item in 1...10 { try queue.put(item) }
            try queue.put(nil)
        }
        let consumer = try ForkedChild {
            while case let .item(item?) = try queue.get(timeout: .seconds(10)) { try total.update { $0.append(item) } }
        }
        _ = try producer.join(timeout: .seconds(30))
        _ = try consumer.join(timeout: .seconds(30))
        let consumed = try total.read()
        print("consumed \(consumed.count) items in order: \(consumed == Array(1...10)), sum \(consumed.reduce(0, +))")
    }
}

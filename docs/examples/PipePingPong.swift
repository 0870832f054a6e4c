// Python: parent_conn, child_conn = Pipe(); the child answers each message; conn.send / conn.recv.
import Shakedown

enum PipePingPong {
    struct Ball: Codable { var hits: Int; var by: String }

    static func main() throws {
        let pipe = try MessagePipe()
        let child = try ForkedChild {
            let end = try pipe.childEnd()
            while case var .message(ball) = try end.receive(Ball.self, timeout: .seconds(10)) {
                ball.hits += 1
                ball.by = "child"
                try end.send(ball)
            }
        }
        let end = try pipe.parentEnd()
        var ball = Ball(hits: 0, by: "parent")
        for _ in 0..<5 {
            ball.hits += 1
            ball.by = "parent"
            try end.send(ball)
            guard case let .message(back) = try end.receive(Ball.self, timeout: .seconds(10)) else { break }
            ball = back
        }
        end.close()
        let exit = try child.join(timeout: .seconds(10))
        print("hits: \(ball.hits), last by \(ball.by), child: \(exit.map { "\($0)" } ?? "running")")
    }
}

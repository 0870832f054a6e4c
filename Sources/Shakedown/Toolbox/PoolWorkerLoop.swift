#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// Where each pool worker says which task of its current chunk it is running and since when, so the pool can
/// name the task that crashed or hung. One slot per worker index in shared memory.
struct PoolProgress: @unchecked Sendable {
    let region: SharedRegion
    /// Per worker: [position in chunk, start time (monotonic ns)].
    let slots: UnsafeMutablePointer<Int64>

    init(workers: Int) throws(ShakedownError) {
        region = try SharedRegion(size: workers * 16, name: "shakedown-pool")
        slots = try region.allocate(byteCount: workers * 16, alignment: 16).bindMemory(to: Int64.self, capacity: workers * 2)
    }

    func start(worker: Int, position: Int) {
        shakedown_atomic_store(slots + 2 * worker + 1, monotonicNanoseconds())
        shakedown_atomic_store(slots + 2 * worker, Int64(position))
    }

    /// The worker's per-task note: the position, and the start time only when a task timeout needs it (a clock
    /// read per task is most of what a tiny task costs). Release stores: plain stores on x86.
    func starting(worker: Int, position: Int, timed: Bool) {
        if timed { shakedown_release_store(slots + 2 * worker + 1, monotonicNanoseconds()) }
        shakedown_release_store(slots + 2 * worker, Int64(position))
    }

    func current(worker: Int) -> (position: Int, startedAt: Int64) {
        (Int(shakedown_atomic_load(slots + 2 * worker)), shakedown_atomic_load(slots + 2 * worker + 1))
    }
}

/// The loop a forked pool worker runs until its socket closes: receive a chunk of inputs, run the work function
/// on each, send the replies back as one message.
enum PoolWorkerLoop {
    static func run<Input: Codable, Output: Codable>(
        index: Int, endpoint: MessageEndpoint, progress: PoolProgress, timed: Bool, work: (Input) throws -> Output
    ) -> Never {
        let far = Duration.seconds(Int64(Int32.max))
        while true {
            let chunk: [Input]
            do {
                switch try endpoint.receive([Input].self, timeout: far) {
                case let .message(inputs): chunk = inputs
                case .timedOut: continue
                case .endOfFile: leave(0)
                }
            } catch { leave(3) }
            var replies = PoolReplies<Output>()
            replies.outputs.reserveCapacity(chunk.count)
            // Indices, not `enumerated()`: in this unspecialized generic code each (position, input) tuple costs a
            // metadata lookup.
            for position in chunk.indices {
                progress.starting(worker: index, position: position, timed: timed)
                do { replies.outputs.append(try work(chunk[position])) } catch {
                    replies.failedPositions.append(position)
                    replies.failures.append(String(describing: error))
                }
            }
            do { try endpoint.send(replies) } catch {
                // A reply that cannot travel (too large, not encodable) becomes a thrown error per task.
                let reason = String(describing: error)
                let failed = PoolReplies<Output>(outputs: [], failedPositions: Array(0..<chunk.count),
                                                 failures: Array(repeating: reason, count: chunk.count))
                do { try endpoint.send(failed) } catch { leave(4) }
            }
        }
    }

    private static func leave(_ status: Int32) -> Never {
        fflush(nil)
        shakedown_exit_now(status)
    }
}

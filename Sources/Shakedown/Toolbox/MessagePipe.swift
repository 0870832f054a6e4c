#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Synchronization

/// A duplex message channel between two processes: the `Pipe()` of classic multiprocessing, for `Codable` values.
///
/// Create it before forking; afterwards each process takes its own end — the parent ``parentEnd()``, the child
/// ``childEnd()`` — which closes the other end in that process. That is what lets a receiver see end-of-file when
/// its peer dies: a socket reports it only once no process holds the peer's descriptor. (Processes forked with
/// both ends still open, such as a `Shake.fork` run leader, delay that report until they exit.)
///
/// Cost: one `socketpair(AF_UNIX, SOCK_STREAM)`; each message is one `send(2)` and at most one `recv(2)` (one read
/// takes every message that has arrived), a `poll(2)` when the receiver has to wait, plus the ``CompactEncoder``
/// encoding. A receiver that has to wait first spins for up to `spinBeforeSleeping` (adaptive, see
/// ``init(maximumMessageBytes:spinBeforeSleeping:)``).
public final class MessagePipe: @unchecked Sendable {
    /// The largest message ``MessageEndpoint/send(_:)`` accepts unless the pipe was created with another limit.
    public static let defaultMaximumMessageBytes = 16 << 20

    /// How long a receive that finds nothing keeps checking before it sleeps, unless the pipe was created with
    /// another value.
    public static let defaultSpinBeforeSleeping = Duration.microseconds(20)

    private let ends: Mutex<(parent: CInt, child: CInt)>
    private let maximumMessageBytes: Int
    private let spinNanoseconds: Int64

    /// Creates the pair of connected ends.
    /// - Parameters:
    ///   - maximumMessageBytes: the largest encoded message either end sends or accepts, 1 ... 1 GiB.
    ///   - spinBeforeSleeping: how long a receive that finds nothing keeps checking the socket (without sleeping)
    ///     before it sleeps in `poll(2)`, 0 ... 1 ms; zero: sleep at once. A reply caught awake saves waking an idle
    ///     CPU (tens of microseconds on a quiet host); the spin costs up to this much CPU per receive and backs off
    ///     by itself while replies do not come in time (docs/benchmarks.md, "Multiprocessing toolbox").
    /// - Throws: `.invalidArgument("maximumMessageBytes")` / `("spinBeforeSleeping")` out of range, or
    ///   `.systemCall("socketpair")` (EMFILE).
    public init(maximumMessageBytes: Int = MessagePipe.defaultMaximumMessageBytes,
                spinBeforeSleeping: Duration = MessagePipe.defaultSpinBeforeSleeping) throws(ShakedownError) {
        guard maximumMessageBytes > 0, maximumMessageBytes <= 1 << 30 else {
            throw .invalidArgument("maximumMessageBytes", "must be between 1 and \(1 << 30), got \(maximumMessageBytes)")
        }
        guard spinBeforeSleeping >= .zero, spinBeforeSleeping <= .milliseconds(1) else {
            throw .invalidArgument("spinBeforeSleeping", "must be between 0 and 1 ms, got \(spinBeforeSleeping)")
        }
        spinNanoseconds = spinBeforeSleeping.nanoseconds
        var fds: [CInt] = [-1, -1]
        try syscall("socketpair") { shakedown_socket_pair(&fds) }
        ends = Mutex((fds[0], fds[1]))
        self.maximumMessageBytes = maximumMessageBytes
    }

    /// The parent's end; closes the child's end in this process. Call it after forking, in the parent.
    /// - Throws: `.invalidArgument` when an end was already taken in this process.
    public func parentEnd() throws(ShakedownError) -> MessageEndpoint { try take(parent: true) }

    /// The child's end; closes the parent's end in this process. Call it in the child.
    /// - Throws: `.invalidArgument` when an end was already taken in this process.
    public func childEnd() throws(ShakedownError) -> MessageEndpoint { try take(parent: false) }

    private func take(parent: Bool) throws(ShakedownError) -> MessageEndpoint {
        let taken: (keep: CInt, drop: CInt) = ends.withLock { ends in
            let pair = parent ? (ends.parent, ends.child) : (ends.child, ends.parent)
            ends = (-1, -1)
            return pair
        }
        guard taken.keep >= 0 else { throw .invalidArgument("end", "an end of this pipe was already taken in this process") }
        closeQuietly(taken.drop)
        return MessageEndpoint(descriptor: taken.keep, maximumMessageBytes: maximumMessageBytes, spinNanoseconds: spinNanoseconds)
    }

    deinit {
        let fds = ends.withLock { $0 }
        closeQuietly(fds.parent)
        closeQuietly(fds.child)
    }
}

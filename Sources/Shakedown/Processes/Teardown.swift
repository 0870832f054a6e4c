/// How leftover processes are stopped: a list of steps, run in order until nothing is left.
///
/// The default sends SIGTERM to each process group and lone process, waits up to 500 ms for them to go,
/// then SIGKILLs whatever remains. A SIGKILL is always appended when the steps do not end with one, so a process
/// that ignores SIGTERM or called `setsid` is still stopped and reaped.
public struct Teardown: Hashable, Sendable, CustomStringConvertible {
    /// One teardown step.
    public enum Step: Hashable, Sendable {
        /// Send this signal to every remaining process (and its process group when Shakedown created it).
        case signal(Signal)
        /// Wait up to this long for the remaining processes to exit (returns early when they all have).
        case wait(Duration)
    }

    /// The steps, in order.
    public var steps: [Step]

    /// The most the waits of a teardown may add up to: one hour. A longer grace is a mistake, and keeping
    /// every deadline computed from it far from Int64 nanoseconds means no deadline arithmetic can overflow.
    public static let maximumTotalWait: Duration = .seconds(3600)

    /// - Throws: `.invalidArgument("steps")` for a negative wait or waits adding up to more than
    ///   ``maximumTotalWait``.
    public init(_ steps: [Step]) throws(ShakedownError) {
        self.steps = steps
        try validate()
        if steps.last != .signal(.kill) { self.steps.append(.signal(.kill)) }
    }

    /// Checks the steps (``steps`` is mutable, so a run checks again before it starts).
    /// - Throws: `.invalidArgument("steps")` for a negative wait or waits adding up to more than
    ///   ``maximumTotalWait``.
    public func validate() throws(ShakedownError) {
        var total = Duration.zero
        for case let .wait(duration) in steps {
            guard duration >= .zero else {
                throw .invalidArgument("steps", "a wait must not be negative, got \(duration)")
            }
            // Compared before adding, so the sum cannot overflow whatever the steps hold.
            guard duration <= Self.maximumTotalWait - total else {
                throw .invalidArgument("steps", "the waits must add up to at most \(Self.maximumTotalWait), got more")
            }
            total += duration
        }
    }

    private init(unchecked steps: [Step]) { self.steps = steps }

    /// SIGTERM, wait up to 500 ms, SIGKILL.
    public static let `default` = Teardown(unchecked: [.signal(.terminate), .wait(.milliseconds(500)), .signal(.kill)])
    /// SIGKILL at once.
    public static let immediate = Teardown(unchecked: [.signal(.kill)])

    /// The longest the steps can take (the sum of the waits).
    public var longestDuration: Duration {
        steps.reduce(.zero) { total, step in
            if case let .wait(duration) = step { return total + duration }
            return total
        }
    }

    /// `SIGTERM → wait 0.5 seconds → SIGKILL`.
    public var description: String {
        steps.map { step in
            switch step {
            case let .signal(signal): return signal.name
            case let .wait(duration): return "wait \(duration)"
            }
        }.joined(separator: " → ")
    }
}

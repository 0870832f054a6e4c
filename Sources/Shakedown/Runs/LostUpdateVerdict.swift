/// Expected against observed for a shared counter: how many updates were lost, and how the rounds went.
public struct LostUpdateVerdict: Sendable, Hashable, CustomStringConvertible {
    /// The counter's name.
    public let counter: String
    /// The value the counter should have.
    public let expected: Int64
    /// The value it has.
    public let observed: Int64
    /// The run's seed, to replay with.
    public let seed: Seed
    /// The per-round outcomes, when the counter was observed by the run.
    public let observation: CounterObservation?

    /// A verdict (``RunReport/verdict(for:expected:)`` makes them).
    public init(counter: String, expected: Int64, observed: Int64, seed: Seed, observation: CounterObservation?) {
        self.counter = counter
        self.expected = expected
        self.observed = observed
        self.seed = seed
        self.observation = observation
    }

    /// `expected - observed`; negative when the counter overshot (updates applied twice).
    public var lost: Int64 { expected - observed }
    /// ``lost`` as a share of ``expected``, in percent.
    public var lostPercentage: Double { expected == 0 ? 0 : Double(lost) * 100 / Double(expected) }
    /// Whether no update was lost (or added).
    public var isExact: Bool { lost == 0 }

    /// Expected, observed, lost (and share), the seed with its replay hint, and the per-round outcomes.
    public var description: String {
        var text = "counter `\(counter)`: expected \(expected), observed \(observed)"
        if lost > 0 {
            text += ", lost \(lost) updates (\(formatPercent(lostPercentage)))"
        } else if lost < 0 {
            text += ", \(-lost) more than expected"
        } else {
            text += ", no update lost"
        }
        text += "; seed \(seed) (replay: \(seed.replayHint))"
        if let observation, !observation.histogram.isEmpty {
            text += "\n  per-round outcomes: " + observation.histogramLines.prefix(8).joined(separator: ", ")
        }
        return text
    }
}

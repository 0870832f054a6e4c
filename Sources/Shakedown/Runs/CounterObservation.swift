/// How an observed counter moved in each round: the outcome histogram of a run.
///
/// After every round the last worker to reach the barrier reads the counter; the difference from the previous
/// round is one outcome. With 4 workers each adding 1 per round, an outcome of 4 means no update was lost in
/// that round, 3 means one was, and so on.
public struct CounterObservation: Sendable, Hashable {
    /// The counter's name.
    public let name: String
    /// Its value when the run ended.
    public let finalValue: Int64
    /// Rounds observed.
    public let rounds: Int
    /// (increment in a round, how many rounds had it), most frequent increment first.
    public let histogram: [Outcome]
    /// Rounds where the counter went down, or rose by 256 or more (not binned).
    public let decreasingRounds: Int
    /// Rounds where the counter rose by 256 or more.
    public let oversizedRounds: Int
    /// Where the counter lives (the same address in the test process and its forked workers): tells apart
    /// counters that share a name. `nil` for observations built by hand.
    package var storage: UInt?

    /// One bar of the histogram.
    public struct Outcome: Sendable, Hashable {
        /// How much the counter rose in a round.
        public let increment: Int64
        /// How many rounds rose by ``increment``.
        public let rounds: Int
    }

    /// Assembles an observation (runs do this); the histogram is sorted most frequent first.
    public init(name: String, finalValue: Int64, histogram: [Outcome], decreasingRounds: Int, oversizedRounds: Int) {
        self.name = name
        self.finalValue = finalValue
        self.histogram = histogram.sorted { ($0.rounds, $1.increment) > ($1.rounds, $0.increment) }
        self.rounds = histogram.reduce(0) { $0 + $1.rounds } + decreasingRounds + oversizedRounds
        self.decreasingRounds = decreasingRounds
        self.oversizedRounds = oversizedRounds
    }

    /// `+4: 812 rounds (81.2%)` lines, most frequent first.
    public var histogramLines: [String] {
        var lines = histogram.map { outcome in
            let share = rounds > 0 ? Double(outcome.rounds) * 100 / Double(rounds) : 0
            return "+\(outcome.increment): \(outcome.rounds) round\(outcome.rounds == 1 ? "" : "s") (\(formatPercent(share)))"
        }
        if decreasingRounds > 0 { lines.append("decreased: \(decreasingRounds) rounds") }
        if oversizedRounds > 0 { lines.append("+256 or more: \(oversizedRounds) rounds") }
        return lines
    }
}

func formatPercent(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return "\(rounded)%"
}

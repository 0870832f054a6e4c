/// How often a run fails, from `failures` failing repetitions of `repetitions`, with a 95 % Wilson score interval.
///
/// Wilson's interval (E. B. Wilson, 1927) rather than the normal approximation: it stays within 0...1 and is
/// honest at 0 failures (0 of 300 still allows a rate up to 1.3 %), which is where race hunting lives.
struct FailureRate: Codable, Equatable {
    let failures: Int
    let repetitions: Int
    /// failures / repetitions (0 with no repetitions).
    let rate: Double
    /// The 95 % interval's bounds.
    let low: Double
    let high: Double
    /// Expected repetitions until one fails, 1 / rate: `nil` with no failure seen.
    let expectedRunsToReproduce: Double?
    /// The same for the interval: 1 / high ... 1 / low (`nil` when low is 0: no upper bound).
    let expectedRunsLow: Double?
    let expectedRunsHigh: Double?

    /// z for a two-sided 95 % interval.
    static let z = 1.959963984540054

    init(failures: Int, repetitions: Int) {
        self.failures = failures
        self.repetitions = repetitions
        guard repetitions > 0 else {
            rate = 0; low = 0; high = 1
            expectedRunsToReproduce = nil; expectedRunsLow = nil; expectedRunsHigh = nil
            return
        }
        let n = Double(repetitions)
        let p = Double(failures) / n
        let z2 = Self.z * Self.z
        let denominator = 1 + z2 / n
        let center = (p + z2 / (2 * n)) / denominator
        let half = Self.z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        rate = p
        low = failures == 0 ? 0 : max(0, center - half)
        high = failures == repetitions ? 1 : min(1, center + half)
        expectedRunsToReproduce = failures > 0 ? 1 / p : nil
        expectedRunsLow = high > 0 ? 1 / high : nil
        expectedRunsHigh = low > 0 ? 1 / low : nil
    }

    /// `19.0 % (95 % CI 14.9 %–23.9 %, Wilson), 57 of 300 repetitions`.
    var text: String {
        "\(percent(rate)) (95 % CI \(percent(low))–\(percent(high)), Wilson), \(failures) of \(repetitions) repetitions"
    }

    /// `5.3 (95 % CI 4.2–6.7)`, or what 0 failures still allow.
    var expectedRunsText: String {
        if let estimate = expectedRunsToReproduce {
            let bound = expectedRunsHigh.map(Self.decimal) ?? "∞"
            return "\(Self.decimal(estimate)) (95 % CI \(expectedRunsLow.map(Self.decimal) ?? "1")–\(bound))"
        }
        return "not reproduced in \(repetitions); at 95 % confidence more than "
            + "\(expectedRunsLow.map(Self.decimal) ?? "?") runs per failure"
    }

    private func percent(_ value: Double) -> String { Self.decimal(value * 100) + " %" }

    /// One decimal: `5.3`, `1234.0`.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "∞" }
        let tenths = (value * 10).rounded()
        guard abs(tenths) < 1e15 else { return String(value) }
        let whole = Int64(tenths) / 10
        let fraction = abs(Int64(tenths) % 10)
        return "\(whole).\(fraction)"
    }
}

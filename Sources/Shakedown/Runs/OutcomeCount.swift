/// One bar of a judged run's outcome histogram: an outcome (as text), its grade, how many rounds showed it and
/// the first of them. Replay the run with the report's seed to see it again.
public struct OutcomeCount: Sendable, Hashable, CustomStringConvertible {
    /// The outcome's text (`String(describing:)` of the judge's value).
    public let outcome: String
    /// What the judge said it means.
    public let grade: OutcomeGrade
    /// Rounds that ended with it.
    public let rounds: Int
    /// The first round (0-based) that ended with it.
    public let firstRound: Int

    /// Assembles a count (runs do this).
    public init(outcome: String, grade: OutcomeGrade, rounds: Int, firstRound: Int) {
        self.outcome = outcome
        self.grade = grade
        self.rounds = rounds
        self.firstRound = firstRound
    }

    /// `4: 812 rounds, acceptable (first in round 0)`.
    public var description: String {
        "\(outcome): \(rounds) round\(rounds == 1 ? "" : "s"), \(grade) (first in round \(firstRound))"
    }

    /// Counts the judged rounds: forbidden outcomes first, then interesting, then acceptable; the most frequent
    /// first within a grade.
    package static func histogram(_ judged: [(round: Int, grade: OutcomeGrade, text: String)]) -> [OutcomeCount] {
        var counts: [String: (grade: OutcomeGrade, rounds: Int, first: Int)] = [:]
        for entry in judged {
            var count = counts[entry.text] ?? (entry.grade, 0, entry.round)
            count.rounds += 1
            count.first = min(count.first, entry.round)
            count.grade = max(count.grade, entry.grade)
            counts[entry.text] = count
        }
        return counts.map { OutcomeCount(outcome: $0.key, grade: $0.value.grade, rounds: $0.value.rounds, firstRound: $0.value.first) }
            .sorted { ($0.grade, $0.rounds, $1.outcome) > ($1.grade, $1.rounds, $0.outcome) }
    }
}

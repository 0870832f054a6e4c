/// What one round's outcome means, as jcstress grades its results.
public enum OutcomeGrade: String, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// A correct result.
    case acceptable
    /// Correct but worth knowing about (often: the race the test guards against can be seen).
    case interesting
    /// A bug: the run is not clean.
    case forbidden

    public var description: String { rawValue }

    public static func < (lhs: OutcomeGrade, rhs: OutcomeGrade) -> Bool {
        lhs.order < rhs.order
    }

    /// The grade's number on a result channel.
    package var wireValue: Int { order }

    package init?(wireValue: Int64) {
        switch wireValue {
        case 0: self = .acceptable
        case 1: self = .interesting
        case 2: self = .forbidden
        default: return nil
        }
    }

    private var order: Int {
        switch self {
        case .acceptable: 0
        case .interesting: 1
        case .forbidden: 2
        }
    }
}

/// What the judge's closures see of a round: which round, and the small result each worker recorded with
/// ``Worker/record(_:)`` in it (`nil` for a worker that recorded nothing).
public struct RoundContext: Sendable {
    /// The round, 0-based.
    public let round: Int
    /// Per worker, in index order: the value it recorded this round.
    public let results: [Int64?]
}

/// Judges the state a run leaves after every round, at a quiet moment: while every worker is parked at the
/// round barrier, in one process (the last worker to arrive), so nothing else runs.
///
/// ``reset`` runs before each round; ``outcome`` runs after each round and returns a value read from
/// anywhere (a database row, a file, shared memory, the workers' recorded results); ``grade`` says what the value
/// means. The report keeps the outcome histogram (the value's text → rounds, grade, first round).
///
/// The closures run in a forked worker, so a crash or a hang in them is a finding of the run (reported with
/// the round), never a crash of the test process. Outcome values travel to the test process as their text
/// (`String(describing:)`), at most ``maximumOutcomeText`` bytes.
///
/// Cost: one closure call per round in one worker, plus one small message per round on its result channel.
public struct RoundJudge<Outcome: Hashable> {
    /// Runs before each round (before round 0 too): put the shared state back where a round starts from.
    public var reset: ((RoundContext) throws -> Void)?
    /// Reads a round's result after it.
    public var outcome: (RoundContext) throws -> Outcome
    /// Grades an outcome.
    public var grade: (Outcome) -> OutcomeGrade
    /// Stop the run after the first round whose outcome is forbidden (the default), or keep counting.
    public var stopsAtFirstForbidden: Bool
    /// Where the judge was made: a closure that throws, or an outcome too long to keep, is reported there.
    public var file: String
    /// The line where the judge was made.
    public var line: Int

    /// The longest outcome text that is kept; a longer one is a failure of its round that names the limit.
    public static var maximumOutcomeText: Int { 1_000 }

    /// A judge with a grading function.
    public init(
        reset: ((RoundContext) throws -> Void)? = nil,
        outcome: @escaping (RoundContext) throws -> Outcome,
        grade: @escaping (Outcome) -> OutcomeGrade,
        stopsAtFirstForbidden: Bool = true,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        self.reset = reset
        self.outcome = outcome
        self.grade = grade
        self.stopsAtFirstForbidden = stopsAtFirstForbidden
        self.file = "\(file)"
        self.line = Int(line)
    }

    /// A judge with a grading table; outcomes missing from it get `otherwise`.
    public init(
        reset: ((RoundContext) throws -> Void)? = nil,
        outcome: @escaping (RoundContext) throws -> Outcome,
        grades table: [Outcome: OutcomeGrade],
        otherwise: OutcomeGrade = .forbidden,
        stopsAtFirstForbidden: Bool = true,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        self.init(reset: reset, outcome: outcome, grade: { table[$0] ?? otherwise },
                  stopsAtFirstForbidden: stopsAtFirstForbidden, file: file, line: line)
    }
}

extension RoundJudge where Outcome == Int64 {
    /// Lost updates on `counter` as a judge: the outcome is how much the counter rose in the round; exactly
    /// `perRound` is acceptable, anything else forbidden (less: an update was lost).
    /// - Throws: `.systemCall("mmap")` when the shared word that holds the round's starting value cannot be made.
    public static func lostUpdates(on counter: SharedCounter, perRound: Int64, stopsAtFirstForbidden: Bool = false,
                                   file: StaticString = #filePath, line: UInt = #line)
    throws(ShakedownError) -> RoundJudge<Int64> {
        // The judge's closures run in whichever worker arrives last: the start value must be in shared memory.
        let start = try SharedCounter("\(counter.name) at round start")
        return RoundJudge(
            reset: { _ in start.reset(to: counter.value) },
            outcome: { _ in counter.value - start.value },
            grade: { $0 == perRound ? .acceptable : .forbidden },
            stopsAtFirstForbidden: stopsAtFirstForbidden, file: file, line: line)
    }
}

/// One judge with its type erased, as the worker runs it.
package struct ErasedJudge {
    package let reset: ((RoundContext) throws -> Void)?
    /// The outcome's text and grade.
    package let judge: (RoundContext) throws -> (text: String, grade: OutcomeGrade)
    package let stopsAtFirstForbidden: Bool
    package let file: String
    package let line: Int

    package init<Outcome: Hashable>(_ judge: RoundJudge<Outcome>) {
        file = judge.file
        line = judge.line
        reset = judge.reset
        self.judge = { context in
            let value = try judge.outcome(context)
            return (String(describing: value), judge.grade(value))
        }
        stopsAtFirstForbidden = judge.stopsAtFirstForbidden
    }
}

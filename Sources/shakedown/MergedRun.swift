import Shakedown

/// The shards of one run, checked to belong together and added up.
struct MergedRun {
    /// By shard index.
    let shards: [ShardReport]
    let repetitions: Int
    let checkFailures: Int
    let failures: [ShardReport.Failure]
    let tally: RepetitionTally
    let exitCode: Int32
    let totalDurationMilliseconds: Int64
    let rate: FailureRate

    /// - Throws: `MergeError.data` for shards of different runs, a shard given twice, or a shard missing.
    init(_ inputs: [ShardReport]) throws(MergeError) {
        guard let first = inputs.first else { throw .data("no report to merge") }
        for other in inputs.dropFirst() { try Self.checkSameRun(first, other) }
        var byIndex: [Int: ShardReport] = [:]
        for input in inputs {
            if let earlier = byIndex[input.shard.index] {
                throw .data("shard \(input.shard) is given twice: \(TerminalText.escaped(earlier.path)) and "
                    + "\(TerminalText.escaped(input.path)); each shard once")
            }
            byIndex[input.shard.index] = input
        }
        let count = first.shard.count
        let missing = (1...count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            let given = (1...count).compactMap { index in
                byIndex[index].map { "\(TerminalText.escaped($0.path)) is \(index)/\(count)" }
            }
            throw .data("shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) "
                + "missing (given: \(given.joined(separator: ", "))): without \(missing.count == 1 ? "it" : "them") the "
                + "merge is not the whole run; add \(missing.count == 1 ? "its report" : "their reports"), or run "
                + "\(missing.count == 1 ? "it" : "them") with the same --seed, --repeat and options")
        }
        shards = (1...count).compactMap { byIndex[$0] }
        var repetitions = 0, checkFailures = 0
        var duration: Int64 = 0
        var tally = RepetitionTally()
        for shard in shards {
            repetitions += shard.fields.repetitions
            checkFailures += shard.fields.checkFailures
            duration = duration.addingReportingOverflow(max(0, shard.fields.totalDurationMilliseconds)).partialValue
            do { tally = try tally.adding(shard.fields.tally) } catch let error as MergeError { throw error } catch {
                throw .data("\(error)")
            }
        }
        self.repetitions = repetitions
        self.checkFailures = checkFailures
        self.tally = tally
        totalDurationMilliseconds = duration
        failures = shards.flatMap(\.fields.failures).sorted { $0.repetition < $1.repetition }
        exitCode = RunCommand.worst(shards.map(\.fields.exitCode))
        rate = FailureRate(failures: failures.count, repetitions: repetitions)
    }

    /// Two shards are of one run when everything but the shard index agrees.
    private static func checkSameRun(_ a: ShardReport, _ b: ShardReport) throws(MergeError) {
        func refuse(_ what: String, _ x: String, _ y: String) -> MergeError {
            .data("\(TerminalText.escaped(a.path)) and \(TerminalText.escaped(b.path)) are not shards of one run: "
                + "\(what) differ (\(TerminalText.escaped(x)) vs \(TerminalText.escaped(y))); merge the shards of "
                + "one run only, all run with the same command, --seed, --repeat and --shard i/n count")
        }
        if a.fields.command != b.fields.command {
            throw refuse("the commands", ReplayLine.shellWords(a.fields.command), ReplayLine.shellWords(b.fields.command))
        }
        if a.seedBase != b.seedBase {
            throw refuse("the seed bases", a.seedBase.hexadecimal, b.seedBase.hexadecimal)
        }
        if a.shard.count != b.shard.count {
            throw refuse("the shard counts", "\(a.shard)", "\(b.shard)")
        }
        if a.fields.repeat != b.fields.repeat {
            throw refuse("the repetition counts (--repeat)", "\(a.fields.repeat)", "\(b.fields.repeat)")
        }
        let differences = a.fields.settings.differences(from: b.fields.settings)
        if !differences.isEmpty {
            throw .data("\(TerminalText.escaped(a.path)) and \(TerminalText.escaped(b.path)) are not shards of one run: "
                + TerminalText.escaped(differences.joined(separator: ", ")) + "; run every shard with the same options")
        }
    }

    // MARK: Output

    /// The report as text; everything from the files is escaped for the terminal.
    var text: String {
        let last = shards[shards.count - 1]
        let fields = last.fields
        let command = TerminalText.escaped(ReplayLine.shellWords(fields.command))
        var lines = [
            "shakedown merge: \(shards.count) shard\(shards.count == 1 ? "" : "s") of \(fields.settings.copies) "
                + "cop\(fields.settings.copies == 1 ? "y" : "ies") of `\(command)` × \(fields.repeat) repetitions, "
                + "seed base \(last.seedBase.hexadecimal)",
            "repetitions: \(repetitions) of \(fields.repeat) ran; \(failures.count) failed "
                + "(\(checkFailures) failed check\(checkFailures == 1 ? "" : "s"))",
            "verdicts: " + Self.histogram(tally.verdicts),
        ]
        if !tally.copies.isEmpty { lines.append("copies: " + Self.histogram(tally.copies)) }
        for name in tally.counters.keys.sorted() {
            let buckets = (tally.counters[name] ?? [:]).sorted { Self.increment($0.key) > Self.increment($1.key) }
            lines.append("counter `\(TerminalText.escaped(name))` per round: "
                + buckets.map { "\(TerminalText.escaped($0.key)) × \($0.value)" }.joined(separator: ", "))
        }
        lines.append("failure rate: " + rate.text)
        lines.append("expected runs to reproduce: " + rate.expectedRunsText)
        if repetitions < fields.repeat {
            lines.append("note: \(fields.repeat - repetitions) repetitions did not run (a shard stopped at its first "
                + "failure; --keep-going runs them all)")
        }
        if !failures.isEmpty { lines.append("failing repetitions:") }
        for failure in failures {
            let seed = Seed(parsing: failure.seed)?.hexadecimal ?? TerminalText.escaped(failure.seed)
            lines.append("  repetition \(failure.repetition) seed \(seed) (exit \(failure.exitCode)): "
                + TerminalText.escaped(failure.reason))
            lines.append("    replay: " + TerminalText.escaped(failure.replay))
        }
        lines.append(exitCode == 0 ? "clean: every repetition of every shard was clean"
                                   : "not clean (exit \(exitCode))")
        return lines.joined(separator: "\n")
    }

    /// The last shard's report with the summed and combined fields replaced, and `merge` added.
    func json() throws -> JSONValue {
        var object = shards[shards.count - 1].raw
        object["repetitions"] = .integer(Int64(repetitions))
        object["checkFailures"] = .integer(Int64(checkFailures))
        object["failures"] = try JSONValue(encoding: failures)
        object["tally"] = try JSONValue(encoding: tally)
        object["exitCode"] = .integer(Int64(exitCode))
        object["totalDurationMilliseconds"] = .integer(totalDurationMilliseconds)
        object["planned"] = try JSONValue(encoding: RunJSON.Planned(first: 0, end: shards[0].fields.repeat))
        object["shard"] = nil
        object["merge"] = .object([
            "shards": .integer(Int64(shards.count)),
            "files": .array(shards.map { .string($0.path) }),
            "failureRate": try JSONValue(encoding: rate),
        ])
        return .object(object)
    }

    /// `clean: 243, failed: 57`, largest first.
    private static func histogram(_ counts: [String: Int]) -> String {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\(TerminalText.escaped($0.key)): \($0.value)" }.joined(separator: ", ")
    }

    private static func increment(_ key: String) -> Int64 { Int64(key.dropFirst()) ?? Int64.min }
}

extension RunJSON.Settings {
    /// Each setting that differs, named as `shakedown run`'s option: `--before 'exit 1' vs none`.
    func differences(from other: Self) -> [String] {
        func show(_ value: String?) -> String { value.map { ReplayLine.quoted($0) } ?? "none" }
        let pairs: [(String, String, String)] = [
            ("--copies", String(copies), String(other.copies)),
            ("--rounds", String(rounds), String(other.rounds)),
            ("--timeout", OptionValue.format(timeout), OptionValue.format(other.timeout)),
            ("--grace", OptionValue.format(grace), OptionValue.format(other.grace)),
            ("--jitter", jitter, other.jitter),
            ("--counters", String(counters), String(other.counters)),
            ("--before", show(before), show(other.before)),
            ("--check", show(check), show(other.check)),
            ("--keep-going", keepGoing ? "given" : "not given", other.keepGoing ? "given" : "not given"),
            ("--pct-depth", pctDepth.map(String.init) ?? "not given", other.pctDepth.map(String.init) ?? "not given"),
            ("--pct-steps", pctSteps.map(String.init) ?? "not given", other.pctSteps.map(String.init) ?? "not given"),
            ("SHAKEDOWN_JITTER", show(jitterEnvironment), show(other.jitterEnvironment)),
        ]
        return pairs.filter { $0.1 != $0.2 }.map { "\($0.0) differs (\($0.1) vs \($0.2))" }
    }
}

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Shakedown

/// One input of `shakedown merge`: a `run --json` report, read and checked on its own before any merging.
///
/// Everything in it came from a file anyone could have edited, so each number is checked against the others:
/// the block must be the shard's (``Shard/range(of:)``), every failing seed must be its repetition's seed, the
/// counts must add up. A report that does not is refused (exit 65), never merged into a plausible total.
struct ShardReport {
    struct Failure: Codable, Equatable {
        let repetition: Int
        let seed: String
        let exitCode: Int32
        let reason: String
        let replay: String
    }

    /// The fields merge reads; the rest of the report is kept in ``raw`` as it was.
    struct Fields: Decodable {
        let command: [String]
        let seedBase: String
        let `repeat`: Int
        let shard: RunJSON.ShardField?
        let planned: RunJSON.Planned
        let settings: RunJSON.Settings
        let tally: RepetitionTally
        let repetitions: Int
        let checkFailures: Int
        let failures: [Failure]
        let exitCode: Int32
        let totalDurationMilliseconds: Int64
    }

    let path: String
    let fields: Fields
    let raw: [String: JSONValue]
    let shard: Shard
    let seedBase: Seed

    static let exitCodes: Set<Int32> = [0, 1, 3, 4, 5, 70]
    /// The largest report read (256 MiB): a shard's JSON is kilobytes plus about 300 bytes per failing repetition,
    /// so this holds some 800,000 failures; shard further for more.
    static let sizeLimit = 256 << 20

    /// Reads and checks `path`.
    /// - Throws: ``MergeError``: `.unreadable` for a file that cannot be read, `.data` for anything else.
    init(path: String) throws(MergeError) {
        self.path = path
        let shown = TerminalText.escaped(path)
        let data: Data
        switch BoundedFile.read(path, limit: Self.sizeLimit) {
        case let .success(bytes): data = Data(bytes)
        case let .failure(.system(number)):
            throw .unreadable("\(shown): cannot read: \(String(cString: strerror(number)))")
        case .failure(.tooLarge):
            throw .data("\(shown): larger than \(Self.sizeLimit >> 20) MiB: not a `shakedown run --json` report")
        }
        guard let object = try? JSONCoding.decoder().decode(JSONValue.self, from: data), case let .object(raw) = object
        else {
            throw .data("\(shown): " + Self.whyNotJSON(Array(data)))
        }
        do { fields = try JSONCoding.decoder().decode(Fields.self, from: data) } catch {
            throw .data("\(shown): JSON, but not a `shakedown run --json` report of this version: "
                + "\(Self.explain(error)); merge the --json output of this shakedown's `run --shard i/n`")
        }
        self.raw = raw
        guard let base = Seed(parsing: fields.seedBase) else {
            throw .data("\(shown): seedBase \"\(TerminalText.escaped(fields.seedBase))\" is not a seed")
        }
        seedBase = base
        guard fields.repeat >= 1 else { throw .data("\(shown): repeat \(fields.repeat) is not a repetition count") }
        do throws(ShakedownError) {
            shard = try Shard(index: fields.shard?.index ?? 1, count: fields.shard?.count ?? 1)
        } catch {
            throw .data("\(shown): shard: \(TerminalText.escaped(error.description))")
        }
        try checkCounts(shown)
        try checkFailures(shown)
    }

    /// The block, the counts and the tally agree with each other and with the shard.
    private func checkCounts(_ shown: String) throws(MergeError) {
        let block = shard.range(of: fields.repeat)
        guard fields.planned.first == block.lowerBound, fields.planned.end == block.upperBound else {
            throw .data("\(shown): planned repetitions \(fields.planned.first)..<\(fields.planned.end) are not shard "
                + "\(shard)'s block \(block.lowerBound)..<\(block.upperBound) of \(fields.repeat)")
        }
        guard (0...block.count).contains(fields.repetitions) else {
            throw .data("\(shown): \(fields.repetitions) repetitions ran, but shard \(shard) has \(block.count)")
        }
        guard (0...fields.repetitions).contains(fields.checkFailures) else {
            throw .data("\(shown): \(fields.checkFailures) failed checks in \(fields.repetitions) repetitions")
        }
        guard Self.exitCodes.contains(fields.exitCode) else {
            throw .data("\(shown): exitCode \(fields.exitCode) is none of shakedown run's")
        }
        let tallied = fields.tally.verdicts.values.reduce(0) { $0 &+ $1 }
        guard fields.tally.verdicts.values.allSatisfy({ $0 >= 0 }), tallied == fields.repetitions else {
            throw .data("\(shown): the tally counts \(tallied) repetitions, the report \(fields.repetitions)")
        }
    }

    /// Each failure is a repetition of the block, once, with the seed that repetition has.
    private func checkFailures(_ shown: String) throws(MergeError) {
        let block = shard.range(of: fields.repeat)
        var seen: Set<Int> = []
        for failure in fields.failures {
            guard block.contains(failure.repetition), seen.insert(failure.repetition).inserted else {
                throw .data("\(shown): failure of repetition \(failure.repetition) is outside shard \(shard)'s block "
                    + "or listed twice")
            }
            guard Seed(parsing: failure.seed) == seedBase.repetition(failure.repetition) else {
                throw .data("\(shown): repetition \(failure.repetition)'s seed \(TerminalText.escaped(failure.seed)) "
                    + "is not the one seed base \(seedBase.hexadecimal) gives it")
            }
            guard Self.exitCodes.contains(failure.exitCode), failure.exitCode != 0 else {
                throw .data("\(shown): repetition \(failure.repetition) has exitCode \(failure.exitCode)")
            }
        }
        let failed = fields.repetitions - (fields.tally.verdicts["clean"] ?? 0)
        guard failed == fields.failures.count else {
            throw .data("\(shown): \(fields.failures.count) failures listed, the tally has \(failed)")
        }
        // The verdict is the worst repetition's: a failing list under exit 0 would merge into a false "clean".
        let worst = RunCommand.worst(fields.failures.map(\.exitCode))
        guard fields.exitCode == worst else {
            throw .data("\(shown): exitCode \(fields.exitCode), but its failing repetitions make it \(worst)")
        }
    }

    /// Why a file is no JSON object, and what to do: an empty file, text that is not JSON (the text report, say),
    /// or JSON cut short.
    static func whyNotJSON(_ bytes: [UInt8]) -> String {
        let rerun = "run that shard again with `shakedown run --shard i/n --json > FILE` and merge the new file"
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = bytes.first(where: { !isSpace($0) }) else {
            return "empty (\(bytes.count) byte\(bytes.count == 1 ? "" : "s")\(bytes.isEmpty ? "" : " of white space")): "
                + "no report was written to it; " + rerun
        }
        guard first == UInt8(ascii: "{") else {
            let start = bytes.drop(while: isSpace).prefix(40).prefix { $0 != 0x0A }
            return "not JSON (it begins `\(TerminalText.escaped(bytes: start))`): `shakedown merge` takes the shards' "
                + "`run --json` output, not their text reports; " + rerun
        }
        return "not a whole JSON object (\(bytes.count) bytes: cut short, or damaged): the shard's report was not "
            + "written to its end; " + rerun
    }

    /// A decoding error as one line naming the field.
    private static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return TerminalText.escaped(String(describing: error)) }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            let prefix = path(context)
            return "field `\(prefix.isEmpty ? "" : prefix + ".")\(key.stringValue)` is missing"
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            return "field `\(path(context))` has the wrong type"
        @unknown default:
            return "unreadable"
        }
    }
}

import ArgumentParser
import Shakedown

/// `shakedown merge FILE…`: the `run --json` reports of a sharded run's shards as one report.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the --json reports of a sharded run (shakedown run --shard i/n) into one report.",
        discussion: """
        Give every shard's `shakedown run --shard i/n --json` output, in any order. The shards must be of one \
        run: the same command, seed base, --repeat, shard count and settings (copies, rounds, timeout, grace, \
        jitter, counters, --before, --check, --keep-going); each shard exactly once, none missing. Every number \
        is checked against the others (each failing seed must be the seed its repetition has).

        Prints: repetitions and failed checks summed, the verdicts of all repetitions (clean, failed, hung, \
        leaked, check failed), the copies' outcomes and the counters' per-round histograms summed, the failure \
        rate with a 95 % Wilson confidence interval, the expected runs to reproduce a failure, and every failing \
        repetition with its seed and replay line. With --json: the shape of `run --json`, with `repetitions`, \
        `checkFailures`, `failures`, `tally`, `exitCode` and `totalDurationMilliseconds` summed or combined, \
        `planned` covering the whole run and no `shard`; the last repetition's fields (`copies`, `counters`, \
        `check`, `hang`, `seed`) are the last shard's; `merge` adds `shards`, `files` and `failureRate`. With \
        shards run with --keep-going, the merge equals the unsharded run's totals. A shard that stopped early \
        (a failed --before: exit 70) merges with its stop counted as a failing repetition.

        A refusal names the file and what is wrong with it (empty, not JSON, cut short, of another version; \
        which shards are missing and which file is which shard; which options differ between two files, by \
        their names) and what to do: usually run that shard again with the same --seed, --repeat and options.

        Exit codes:
          0   every repetition of every shard was clean
          1, 3, 4, 5, 70
              the merged verdict, as shakedown run's (first of 70, 3, 1, 4, 5 seen)
          64  bad arguments (no file)
          65  input that is not a complete set of shard reports of one run (not
              JSON, truncated, a field missing or inconsistent, shards of
              different runs, a shard given twice or missing)
          66  a file that cannot be read
        """
    )

    @Argument(help: ArgumentHelp("The shards' `run --json` reports.", valueName: "FILE"))
    var files: [String] = []

    @Flag(help: "Print the merged report as JSON, in the shape of `run --json`.")
    var json = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give the shards' run --json reports, e.g. shard-*.json") }
    }

    func run() throws {
        let merged: MergedRun
        do {
            var shards: [ShardReport] = []
            for path in files { shards.append(try ShardReport(path: path)) }
            merged = try MergedRun(shards)
        } catch {
            writeToStandardError("shakedown merge: \(error.description)\n")
            throw ExitCode(error.exitCode)
        }
        if json {
            print(TerminalText.jsonEscaped(String(decoding: try JSONCoding.encoder().encode(merged.json()), as: UTF8.self)))
        } else {
            print(merged.text)
        }
        if merged.exitCode != 0 { throw ExitCode(merged.exitCode) }
    }
}

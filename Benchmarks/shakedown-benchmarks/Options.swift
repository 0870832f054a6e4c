/// Command-line options, parsed by hand (the benchmark adds no package dependencies).
struct Options {
    /// Interleaved repetitions of every measurement; the table reports their median, min and max.
    var repetitions = 7
    /// Rounds of each barrier run (Shakedown and raw C alike).
    var rounds = 1_000_000
    /// Rounds per repetition of the fork rows; each round times one run of each (Shakedown N = 8 and N = 1, 8 serial
    /// raw forks, a batch of 8 raw forks).
    var forkRuns = 25
    /// Children per raw fork sample (serial and batched): as many as the per-worker Shakedown row has workers.
    let batchSize = 8
    /// Rounds per repetition of the command rows; each round times one run of each.
    var commandRuns = 40
    /// Processes per Python multiprocessing sample.
    var pythonProcesses = 100
    /// Heap touched before measuring, so forks copy page tables like they would from a test process.
    var ballastMegabytes = 64
    /// Mostly idle threads started before measuring, like a test process's runtime threads.
    var backgroundThreads = 4
    var quick = false
    /// Which phases run: both by default; `--only commands` or `--only forks` for one (e.g. while profiling).
    var runsCommands = true
    var runsForks = true
    /// Whether `--rounds` was given: then it is used as is, never shortened.
    var roundsGiven = false
    /// Without `--rounds`, a barrier sample is shortened to about this long when the warm-up shows the host is too
    /// busy for `rounds` to finish in time (keeps the default run near 2 minutes on a saturated machine).
    var barrierSampleSeconds = 3.0

    static let usage = """
        usage: shakedown-benchmarks [--quick] [--rounds N] [--repetitions N]

          --quick          smoke run (< 20 s): 3 repetitions, 100,000 barrier rounds, fewer forks and runs
          --rounds N       barrier rounds per run (default 1,000,000)
          --repetitions N  interleaved repetitions of each measurement (default 7)
          --only PHASE     only "commands" (4 × /bin/true against a shell) or "forks" (forks, rounds, Python)
          --help           this text
        """

    /// Parses `arguments` (without the program name); returns an error message for bad input.
    static func parse(_ arguments: [String]) -> Result<Options, OptionError> {
        var options = Options()
        var explicitRounds: Int?
        var explicitRepetitions: Int?
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--quick":
                options.quick = true
            case "--rounds", "--repetitions":
                guard let text = remaining.popFirst(), let value = Int(text.filter { $0 != "_" && $0 != "," }),
                      value > 0
                else { return .failure(OptionError("\(argument) needs a positive whole number")) }
                if argument == "--rounds" { explicitRounds = value } else { explicitRepetitions = value }
            case "--only":
                switch remaining.popFirst() {
                case "commands": options.runsForks = false
                case "forks": options.runsCommands = false
                default: return .failure(OptionError("--only needs \"commands\" or \"forks\""))
                }
            case "--help", "-h":
                return .failure(OptionError(nil))
            default:
                return .failure(OptionError("unknown option \(argument)"))
            }
        }
        if options.quick {
            options.repetitions = 3
            options.rounds = 100_000
            options.forkRuns = 8
            options.commandRuns = 10
            options.pythonProcesses = 20
            options.barrierSampleSeconds = 0.5
        }
        if let explicitRounds {
            options.rounds = explicitRounds
            options.roundsGiven = true
        }
        if let explicitRepetitions { options.repetitions = explicitRepetitions }
        return .success(options)
    }
}

/// A bad command line; `message` is nil when only the usage was asked for.
struct OptionError: Error {
    let message: String?
    init(_ message: String?) { self.message = message }
}

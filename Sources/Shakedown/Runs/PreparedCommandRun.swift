/// A command run set up once and started many times (`shakedown run --repeat`): the configuration is checked
/// and the command resolved in ``init(command:_:counters:)``, and each ``run(seed:progress:)`` only forks.
///
/// It is what ``Shake/run(command:_:counters:progress:)`` does, split so that a loop of thousands of
/// repetitions does not search `PATH` and re-check the same numbers every time.
package struct PreparedCommandRun {
    /// The command as given (argv, no shell).
    package let command: [String]
    /// The checked configuration; each run replaces only its seed.
    package let configuration: RunConfiguration
    /// Run-owned counters (0...8).
    package let counters: Int
    private let commandLine: WorkerLaunch.CommandLine

    /// - Throws: `.invalidArgument` for a bad configuration, counter count or empty command;
    ///   `.executableNotFound` when the command cannot be started. Nothing is started.
    package init(command: [String], _ configuration: RunConfiguration, counters: Int = 0) throws(ShakedownError) {
        try configuration.validate()
        guard counters >= 0, counters <= 8 else {
            throw .invalidArgument("counters", "must be within 0...8, got \(counters)")
        }
        self.commandLine = try WorkerLaunch.CommandLine(command)
        self.command = command
        self.configuration = configuration
        self.counters = counters
    }

    /// Runs the copies once with `seed`; see ``Shake/run(command:_:counters:progress:)``.
    /// - Throws: ``ShakedownError`` for a failed system call.
    package func run(seed: Seed, progress: ((RunProgress) -> Void)? = nil) throws(ShakedownError) -> RunReport {
        var configuration = configuration
        configuration.seed = seed
        var supervisor = Supervisor(configuration: configuration, launch: .command(commandLine), observed: [],
                                    runOwnedCounters: counters, command: command, diagnoseHang: HangCapture.diagnose)
        supervisor.progress = progress
        return try supervisor.run()
    }
}

/// A command run set up once and started many times (`shakedown run --repeat`): the configuration is checked
/// and the command resolved in ``init(command:_:counters:)``, and each ``run(seed:progress:)`` only forks. After a
/// run that left nothing behind, the next one reuses its run leader, control block, pipes and cgroup
/// (``LeaderSession``): a repetition then costs the copies' shepherds and commands, and their reaping.
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
    /// Whether a run leader is kept for the next run (``LeaderSession``). Something else that reaps or kills this
    /// process's children between runs (the CLI's `--before`/`--check` leftover sweep) must spare
    /// ``keptLeaderPid``, or turn this off: the idle leader is a child of this process.
    package var keepsLeader = true
    /// The idle run leader kept for the next run, if any.
    package var keptLeaderPid: Int32? { sessions.idleLeaderPid }
    /// The run leader kept between runs, shared by copies of this value.
    private let sessions = LeaderSessions()

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
        // Fault plans count calls per process: a leader serving several runs would shift every count.
        if keepsLeader && configuration.faults.isEmpty { supervisor.sessions = sessions }
        return try supervisor.run()
    }

    /// Ends the run leader kept for the next run, if any, and removes its cgroup. Call it when done repeating;
    /// otherwise it happens when the last copy of this value goes away, or, if the process exits first, the
    /// leader sees it die (its pidfd) and cleans up after itself.
    package func close() {
        sessions.close()
    }
}

/// How the `syscalls` and `pct` modes schedule a run's controlled system calls, and where the schedule is written
/// to or replayed from. Other modes ignore it.
///
/// Set it on ``RunConfiguration/schedule``; `shakedown run` sets it from `--trace FILE` and `--replay FILE`.
public struct ScheduleOptions: Hashable, Sendable {
    /// Where the run writes its schedule (``SyscallSchedule``): every released call in order, with the seed, mode and
    /// copies. Written by the run leader when the run ends; a failure to write is a note in the report.
    public var traceFile: String?
    /// A schedule written by ``traceFile`` to follow: each release goes to the copy the schedule names, as long as
    /// the run does what the traced run did (the report says where it stopped following, if it did).
    public var replayFile: String?
    /// PCT's depth d: the number of ordering constraints a bug needs; the run gets d − 1 priority change points
    /// (1...100).
    public var pctDepth: Int
    /// PCT's estimate k of the controlled calls in a run; change points are drawn from 1...k. `nil` takes 100 per
    /// process and round. Too large an estimate puts change points after the run's end (a depth-1 run).
    public var pctSteps: Int?
    /// How much processor time a released copy may spend outside controlled calls (computing, or spinning on
    /// something a parked copy holds) before the scheduler releases another one anyway (100 µs...10 s).
    public var boundedWait: Duration

    /// The schedule a replay follows, read from ``replayFile`` in the test process before anything is forked.
    package var replay: SyscallSchedule?

    /// Options for one run; nothing is checked until the run starts.
    /// - Parameters:
    ///   - traceFile: where to write the schedule (``traceFile``).
    ///   - replayFile: a schedule to follow (``replayFile``).
    ///   - pctDepth: PCT's depth d (``pctDepth``), 1...100.
    ///   - pctSteps: PCT's step estimate k (``pctSteps``); `nil` estimates it.
    ///   - boundedWait: processor time a copy may spend outside controlled calls (``boundedWait``).
    public init(traceFile: String? = nil, replayFile: String? = nil, pctDepth: Int = 3, pctSteps: Int? = nil,
                boundedWait: Duration = .milliseconds(20)) {
        self.traceFile = traceFile
        self.replayFile = replayFile
        self.pctDepth = pctDepth
        self.pctSteps = pctSteps
        self.boundedWait = boundedWait
    }

    /// The PCT step estimate for `processes` × `rounds`: ``pctSteps``, else 100 per process and round, within
    /// 1...100,000,000.
    package func steps(processes: Int, rounds: Int) -> Int {
        if let pctSteps { return pctSteps }
        let estimate = processes.multipliedReportingOverflow(by: rounds)
        guard !estimate.overflow else { return 100_000_000 }
        return min(max(estimate.partialValue, 1), 1_000_000) * 100
    }
}

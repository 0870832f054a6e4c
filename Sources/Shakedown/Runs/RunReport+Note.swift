extension RunReport {
    /// The same report with `note` appended to ``notes``.
    func adding(note: String?) -> RunReport {
        guard let note else { return self }
        return RunReport(seed: seed, configuration: configuration, command: command, workers: workers,
                         observations: observations, leaks: leaks, hang: hang, duration: duration, timedOut: timedOut,
                         notes: notes + [note], outcomes: outcomes, containment: containment,
                         leaderProblem: leaderProblem)
    }
}

/// Connects a run's deadline to the hang inspector: capture every stuck process, then analyse them together.
enum HangCapture {
    /// Captures all targets at one instant (one inspector, so one symbolizer process for all of them) and analyses
    /// deadlocks. A target listed twice is captured once.
    static func diagnose(_ targets: [HangTarget]) -> HangDiagnosis? {
        guard !targets.isEmpty else { return nil }
        let inspector = HangInspector()
        var snapshots: [ProcessSnapshot] = []
        var failures: [String] = []
        // Every stuck process is stopped first and released last: waits between workers are read at one instant.
        let results = inspector.captureAll(pids: targets.map(\.pid))
        var reported = Set<Int32>()
        for target in targets where reported.insert(target.pid).inserted {
            guard let entry = results.first(where: { $0.pid == target.pid }) else { continue }
            switch entry.result {
            case let .success(snapshot): snapshots.append(snapshot)
            case let .failure(error): failures.append("\(target.label) (pid \(target.pid)): not captured: \(error)")
            }
        }
        let labels = Dictionary(targets.map { ($0.pid, $0.label) }, uniquingKeysWith: { first, _ in first })
        var diagnosis = HangDiagnosis(targets: targets, snapshots: snapshots, captureFailures: failures,
                                      analysis: DeadlockAnalysis(snapshots: snapshots, labels: labels))
        diagnosis.asyncNotes = AsyncHangReport.notes(for: snapshots, labels: labels)  // async workers (issue 13)
        return diagnosis
    }
}

/// Connects a run's deadline to the hang inspector: capture every stuck process, then analyse them together.
enum HangCapture {
    /// Captures each target (one inspector, so one symbolizer process for all of them) and analyses deadlocks.
    static func diagnose(_ targets: [HangTarget]) -> HangDiagnosis? {
        guard !targets.isEmpty else { return nil }
        let inspector = HangInspector()
        var snapshots: [ProcessSnapshot] = []
        var failures: [String] = []
        for target in targets {
            do throws(ShakedownError) {
                snapshots.append(try inspector.capture(pid: target.pid))
            } catch {
                failures.append("\(target.label) (pid \(target.pid)): not captured: \(error)")
            }
        }
        let labels = Dictionary(targets.map { ($0.pid, $0.label) }, uniquingKeysWith: { first, _ in first })
        return HangDiagnosis(targets: targets, snapshots: snapshots, captureFailures: failures,
                             analysis: DeadlockAnalysis(snapshots: snapshots, labels: labels))
    }
}

/// What was captured when a run passed its deadline: for each stuck process, where every thread was waiting,
/// and the deadlock analysis over Shakedown mutexes.
///
/// Captured before teardown by the test process itself (ptrace + libunwind + llvm-symbolizer), ≈ 10 ms per
/// process once the symbolizer runs; the processes keep running until the teardown that follows.
public struct HangDiagnosis: Sendable {
    /// The stuck processes, each with the worker it belongs to.
    public let targets: [HangTarget]
    /// One snapshot per process that could be captured.
    public let snapshots: [ProcessSnapshot]
    /// Processes that could not be captured, and why (it exited meanwhile, ptrace refused, ...).
    public let captureFailures: [String]
    /// Wait-for cycles and abandoned mutexes found in the snapshots.
    public let analysis: DeadlockAnalysis
    /// Swift concurrency in the stuck workers: jobs waiting in Shakedown's executor, threads in the runtime
    /// (see AsyncHangReport; empty for processes that use neither).
    public internal(set) var asyncNotes: [String] = []

    /// Assembles a diagnosis (runs do this at their deadline).
    public init(targets: [HangTarget], snapshots: [ProcessSnapshot], captureFailures: [String], analysis: DeadlockAnalysis) {
        self.targets = targets
        self.snapshots = snapshots
        self.captureFailures = captureFailures
        self.analysis = analysis
    }

    /// `worker 2` for every captured pid.
    public var labels: [Int32: String] {
        Dictionary(targets.map { ($0.pid, $0.label) }, uniquingKeysWith: { first, _ in first })
    }

    /// Stuck frames first, a few per thread: for test failure messages.
    public var compactText: String { render(.compact(framesPerThread: 6)) }

    /// Every thread with every frame.
    public var fullText: String { render(.full) }

    private func render(_ style: SnapshotRenderer.Style) -> String {
        var text = "hang diagnosis (captured at the deadline, before teardown):\n"
        text += SnapshotRenderer(style: style).render(snapshots, analysis: analysis, labels: labels)
        for failure in captureFailures { text += "\n" + failure }
        for note in asyncNotes { text += "\n" + note }
        return text
    }
}

/// One process to capture at the deadline.
public struct HangTarget: Sendable, Hashable, Codable {
    /// The worker it belongs to.
    public let worker: Int
    /// The process to capture.
    public let pid: Int32
    /// `"worker 2"`, `"worker 2 / child 4711"`.
    public let label: String

    /// A process of worker `worker`, called `label` in reports.
    public init(worker: Int, pid: Int32, label: String) {
        self.worker = worker
        self.pid = pid
        self.label = label
    }
}

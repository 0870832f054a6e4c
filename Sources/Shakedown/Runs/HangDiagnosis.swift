/// What was captured when a run passed its deadline: for each stuck process, where its threads were waiting.
///
/// The capture itself (ptrace, remote unwinding, symbolization, deadlock analysis) is the Hangs part of the
/// library; a run asks for it through ``RunConfiguration/diagnosesHangs``.
public struct HangDiagnosis: Sendable {
    /// The stuck processes, as `(worker index, pid)`; descendants of a worker carry that worker's index.
    public let targets: [HangTarget]
    /// The rendered report: compact (stuck frames first) — the full one is in ``fullText``.
    public let compactText: String
    /// Every thread with every frame.
    public let fullText: String
    /// The machine-readable form.
    public let json: String

    public init(targets: [HangTarget], compactText: String, fullText: String, json: String) {
        self.targets = targets
        self.compactText = compactText
        self.fullText = fullText
        self.json = json
    }

    var compactDescription: String { compactText }
}

/// One process to capture at the deadline.
public struct HangTarget: Sendable, Hashable {
    /// The worker it belongs to.
    public let worker: Int
    public let pid: Int32
    /// `"worker 2"`, `"worker 2 / child 4711"`.
    public let label: String

    public init(worker: Int, pid: Int32, label: String) {
        self.worker = worker
        self.pid = pid
        self.label = label
    }
}

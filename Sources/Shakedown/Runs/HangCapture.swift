/// Connects a run's deadline to the hang inspector.
enum HangCapture {
    /// Captures every target before teardown and renders the diagnosis.
    static func diagnose(_ targets: [HangTarget]) -> HangDiagnosis? {
        nil
    }
}

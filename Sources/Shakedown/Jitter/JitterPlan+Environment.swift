#if canImport(Glibc)
import Glibc
#endif

extension JitterPlan {
    /// The environment variable that overrides the jitter of every run: `SHAKEDOWN_JITTER=preempt swift test`.
    /// It takes a mode name (``JitterMode``) or a plan in the form Shakedown hands to exec'd commands.
    public static let environmentVariable = "SHAKEDOWN_JITTER"

    /// Parses a mode name (`none`, `points`, `preempt`, `syscalls`, `pct`, `default`; case-insensitive) or an
    /// encoded plan.
    /// - Throws: `.invalidArgument(name)` naming the modes when `text` is neither.
    public init(parsing text: String, name: String = JitterPlan.environmentVariable) throws(ShakedownError) {
        let trimmed = text.trimmingWhitespace
        if let mode = JitterMode(rawValue: trimmed.lowercased()) {
            self.init(mode: mode)
            return
        }
        if let plan = JitterPlan(encoded: trimmed) {
            self = plan
            return
        }
        let modes = JitterMode.allCases.map(\.rawValue).joined(separator: ", ")
        throw .invalidArgument(name, "unknown jitter mode \"\(trimmed)\"; expected one of \(modes)")
    }

    /// The plan in `SHAKEDOWN_JITTER`, or `nil` when it is unset or empty. Reads the environment each call: call it
    /// once per run, in the test process.
    /// - Throws: `.invalidArgument("SHAKEDOWN_JITTER")` for an unknown mode.
    public static func fromEnvironment() throws(ShakedownError) -> JitterPlan? {
        guard let raw = getenv(environmentVariable) else { return nil }
        let text = String(cString: raw).trimmingWhitespace
        if text.isEmpty { return nil }
        return try JitterPlan(parsing: text)
    }

    /// The plan a run uses: `SHAKEDOWN_JITTER` when set (it overrides every run, so a CI job can switch a whole
    /// suite), else `configured`.
    /// - Throws: `.invalidArgument("SHAKEDOWN_JITTER")` for an unknown mode.
    public static func resolve(_ configured: JitterPlan) throws(ShakedownError) -> JitterPlan {
        try fromEnvironment() ?? configured
    }
}

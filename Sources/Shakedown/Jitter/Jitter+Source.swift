@_exported import ShakedownJitter

/// Which ``JitterSource`` ambient points (`Jitter.point()`, from ShakedownJitter) draw from in this process.
///
/// `Jitter` itself lives in ShakedownJitter so production code can import the point alone; the source, its plan and
/// its seed are Shakedown's, so the link between them lives here. The `@_exported import` keeps `Jitter` visible to
/// every `import Shakedown` user, as it was before the split.
extension Jitter {
    /// Keeps the source alive while its root is the ambient one; only written by the thread that sets it up.
    nonisolated(unsafe) private static var ambient: JitterSource?

    /// The source ambient points draw from in this process (set in a worker right after `fork`, before the body
    /// starts any thread). A source whose points do not act is kept but not armed, so points stay one branch.
    package static var current: JitterSource? {
        get { ambient }
        set {
            ambient = newValue
            setAmbientRoot(newValue.flatMap { $0.plan.actsAtPoints ? $0.root : nil })
        }
    }
}

import CShakedownJitter

/// The ambient root: the only state `Jitter.point()` reads. Shakedown sets it in a worker right after `fork`, before
/// the body starts any thread; nothing else writes it, so in production it stays null and every point is one branch.
extension Jitter {
    /// Makes `root` (a `shakedown_jitter_root`, or nil to disarm) the source ambient points draw from in this
    /// process. The caller keeps the root alive while it is set.
    package static func setAmbientRoot(_ root: OpaquePointer?) {
        shakedown_jitter_set_ambient(root)
    }

    /// Whether ambient points act in this process (a root is set).
    package static var isArmed: Bool { shakedown_jitter_ambient_is_set() != 0 }
}

#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// A start gate for exec'd commands, passed by the preload library: every copy arrives after the dynamic loader is
/// done and waits (at most 2 s) until all have arrived, so copies of a short program run `main` at the same moment
/// instead of milliseconds apart (exec and loading take about a millisecond each, longer than many racy loops). Then
/// each copy counts itself out on a second word and yields until all have woken (at most 2 ms more): a futex wake-up
/// lets the waker run on at once and the others only when scheduled, which alone left short loops running one after
/// the other.
///
/// It is a 4 KiB memfd whose first word counts arrivals (the second count is 64 bytes further, on its own cache line); its descriptor is inheritable (it must survive `exec`) and
/// closed by the library before `main`. One gate serves one start of `parties` copies.
package final class CommandStartGate {
    /// The inheritable descriptor.
    package let descriptor: CInt
    /// How many copies the gate waits for.
    package let parties: Int

    /// - Throws: `.invalidArgument("parties")` outside 1...100,000; `.systemCall` when the memfd fails.
    package init(parties: Int) throws(ShakedownError) {
        guard parties >= 1, parties <= 100_000 else {
            throw .invalidArgument("parties", "must be within 1...100000, got \(parties)")
        }
        let closeOnExec = shakedown_memfd_create("shakedown-start-gate")
        guard closeOnExec >= 0 else { throw .systemCall("memfd_create") }
        defer { close(closeOnExec) }
        guard ftruncate(closeOnExec, 4096) == 0 else { throw .systemCall("ftruncate") }
        let inheritable = dup(closeOnExec)  // dup clears close-on-exec
        guard inheritable >= 0 else { throw .systemCall("dup") }
        descriptor = inheritable
        self.parties = parties
    }

    deinit { close(descriptor) }

    /// The variable the preload library reads: `SHAKEDOWN_PREEMPT_GATE=fd,parties`.
    package var environmentEntry: String { "SHAKEDOWN_PREEMPT_GATE=\(descriptor),\(parties)" }
}

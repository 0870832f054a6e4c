#if canImport(Glibc)
import Glibc
#endif

/// A bounded busy wait before sleeping (checking, then yielding the CPU, in turn), that turns itself off while it
/// does not pay.
///
/// Why: on a quiet host a process that sleeps in `poll(2)` leaves its CPU idle, and waking an idle CPU costs tens of
/// microseconds (an inter-processor interrupt; in a virtual machine, a halted virtual CPU the host must schedule
/// again). A reply that comes within a few microseconds is cheaper to catch awake. When it does not come in time
/// (the peer is slow, or waits for this very CPU on a busy host) the spin was wasted. So the spin keeps a running
/// success rate (each outcome weighs 1/8): while at least 3 in 4 recent spins caught their reply it spins on every
/// wait; below that it only probes, once every 32 waits, until the rate recovers.
///
/// Cost: at most `limit` of CPU time per wait that spins; where spins keep failing, one probe of 10 × `limit` per 32
/// waits.
struct AdaptiveSpin {
    /// The longest one spin lasts, in nanoseconds; 0 turns spinning off.
    let limit: Int64
    /// Recent success rate, 0 ... 1024.
    private var rate: Int = 1024
    private var sinceProbe = 0
    /// Spins started (tests check the back-off with it).
    private(set) var spins = 0

    init(limit: Int64) { self.limit = max(0, limit) }

    /// How many times a spin a probe lasts.
    static let probeFactor: Int64 = 10

    /// Polls `fd` without sleeping until it is readable (`true`), or the spin's time or `deadline` is over, or this
    /// wait is one to skip (`false`: the caller then sleeps in `poll(2)` as usual).
    mutating func spinUntilReadable(_ fd: CInt, deadline: Deadline) -> Bool {
        guard limit > 0 else { return false }
        var length = limit
        if rate < 768 {
            sinceProbe += 1
            guard sinceProbe >= 32 else { return false }
            sinceProbe = 0
            // A probe outlasts the wake-up of a sleeping peer: when both ends have backed off, each reply has to wake
            // the other's CPU, and a probe as short as a spin would never see one in time, so neither end would
            // ever spin again (measured on an idle 2-vCPU VM: ping-pong stuck at a tenth of its speed).
            length = limit &* Self.probeFactor
        }
        spins += 1
        let start = monotonicNanoseconds()
        let end = min(deadline.nanoseconds, start &+ length)
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        repeat {
            if poll(&entry, 1, 0) > 0 {
                rate += (1024 - rate) / 8
                return true
            }
            // When the peer waits for this very CPU, a pure spin would keep it from running until the spin ends;
            // yielding lets it run at once. When nothing else wants this CPU the yield returns at once.
            sched_yield()
        } while monotonicNanoseconds() < end
        rate -= rate / 8 + 1
        return false
    }
}

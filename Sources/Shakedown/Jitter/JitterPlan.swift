#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// How a run perturbs the schedule: the ``mode`` and the pressure of each mechanism.
///
/// At each jitter point (modes that use points) a seeded generator first decides whether to act at all
/// (``probability``), then picks an action by weight: give up the processor (`sched_yield`), sleep a random time below
/// ``maximumSleep``, or spin a random number of iterations below ``maximumSpin``. In modes that preempt, a per-thread
/// timer fires after a random 1 µs ..< ``preemptInterval`` and its signal handler picks an action the same way.
/// Measured on 2 cores with 4 workers × 2 unlocked increments, 1,000 runs: no jitter lost updates in 0 runs, yield in
/// 997, a short random sleep in 1,000.
public struct JitterPlan: Hashable, Sendable, CustomStringConvertible {
    /// Which mechanisms perturb the schedule.
    public var mode: JitterMode
    /// Chance in 0...1 that a point acts.
    public var probability: Double
    /// Relative weight of `sched_yield`.
    public var yieldWeight: Int
    /// Relative weight of a short sleep.
    public var sleepWeight: Int
    /// Relative weight of a busy spin.
    public var spinWeight: Int
    /// Longest sleep; the sleep is uniform in 1 µs ..< this.
    public var maximumSleep: Duration
    /// Most spin iterations; uniform in 0 ..< this.
    public var maximumSpin: Int
    /// Longest time between two preemptions of a thread; each interval is uniform in 1 µs ..< this for the first 0.5 s
    /// of a process's timers, then doubled every 0.5 s (at most 64 ×), so long computations keep most of their speed.
    public var preemptInterval: Duration

    /// - Throws: `.invalidArgument` for a probability outside 0...1, negative weights or limits, all weights 0 with a
    ///   nonzero probability, a sleep below 1 µs, or a preemption interval outside 2 µs...1 s.
    public init(
        probability: Double,
        yieldWeight: Int = 1,
        sleepWeight: Int = 1,
        spinWeight: Int = 1,
        maximumSleep: Duration = .microseconds(50),
        maximumSpin: Int = 2_000,
        mode: JitterMode = .points,
        preemptInterval: Duration = JitterPlan.standardPreemptInterval
    ) throws(ShakedownError) {
        guard probability >= 0, probability <= 1 else {
            throw .invalidArgument("probability", "must be within 0...1, got \(probability)")
        }
        guard yieldWeight >= 0, sleepWeight >= 0, spinWeight >= 0 else {
            throw .invalidArgument("weights", "must not be negative")
        }
        guard probability == 0 || yieldWeight + sleepWeight + spinWeight > 0 else {
            throw .invalidArgument("weights", "at least one must be positive when probability > 0")
        }
        guard maximumSleep >= .microseconds(1), maximumSleep <= .seconds(1) else {
            throw .invalidArgument("maximumSleep", "must be within 1 µs...1 s, got \(maximumSleep)")
        }
        guard maximumSpin >= 1 else { throw .invalidArgument("maximumSpin", "must be at least 1, got \(maximumSpin)") }
        guard preemptInterval >= .microseconds(2), preemptInterval <= .seconds(1) else {
            throw .invalidArgument("preemptInterval", "must be within 2 µs...1 s, got \(preemptInterval)")
        }
        self.mode = mode
        self.probability = probability
        self.yieldWeight = yieldWeight
        self.sleepWeight = sleepWeight
        self.spinWeight = spinWeight
        self.maximumSleep = maximumSleep
        self.maximumSpin = maximumSpin
        self.preemptInterval = preemptInterval
    }

    private init(unchecked mode: JitterMode, probability: Double, yield: Int, sleep: Int, spin: Int) {
        self.mode = mode
        self.probability = probability
        yieldWeight = yield
        sleepWeight = sleep
        spinWeight = spin
        maximumSleep = .microseconds(50)
        maximumSpin = 2_000
        preemptInterval = JitterPlan.standardPreemptInterval
    }

    /// The standard plan of `mode`: every point acts, timers fire within ``standardPreemptInterval``, actions mix
    /// yields, sleeps below 50 µs and spins below 2,000 iterations; in the modes that may preempt (``JitterMode/preempt``,
    /// ``JitterMode/mix``, ``JitterMode/default``) yields and sleeps only. `.none` does nothing.
    ///
    /// Why no spins where timers fire: a spin keeps the processor, so the other copies make no progress meanwhile; on
    /// the race catalogue it found the ABA slot reuse in 5 of 91 preempted trials where a sleep or a yield found it in
    /// 19 of 30 and 20 of 43, and it made every trial slower (docs/benchmarks.md, "Choosing the preemption settings").
    public init(mode: JitterMode) {
        let acts = mode != .none
        let mayPreempt = mode == .preempt || mode == .mix || mode == .default
        self.init(unchecked: mode, probability: acts ? 1 : 0, yield: acts ? 1 : 0, sleep: acts ? 1 : 0,
                  spin: acts && !mayPreempt ? 1 : 0)
    }

    /// The longest interval between two preemptions in the standard plans: each interval is uniform in 1 µs ..< 30 µs.
    /// That is the full rate, for the first 0.5 s of a process's timers; then the intervals double every 0.5 s, at most
    /// 64 × (``preemptInterval`` of any plan is treated the same way).
    ///
    /// Chosen by the detection benchmark's 1-second runs (docs/benchmarks.md, "Choosing the preemption settings"):
    /// below about 20 µs a thread spends most of its time taking timer signals (each one a hypervisor exit on a VM)
    /// and a trial of the catalogue took 10–30× longer, so fewer trials fit in a second; at 30 µs every bug was found
    /// in every 1-second run with trials of 7–23 ms (197 ms for the lost wake-up, whose copies wait on each other).
    public static let standardPreemptInterval = Duration.microseconds(30)

    /// Nothing perturbs the schedule: a disabled point costs one branch.
    public static let none = JitterPlan(mode: .none)
    /// The default: preemption (start gate and timers) for exec'd commands, jitter points that yield or sleep for
    /// closure workers (``JitterMode/default``).
    public static let `default` = JitterPlan(mode: .default)
    /// Only jitter points, every one acting.
    public static let points = JitterPlan(mode: .points)
    /// Only timer preemption, at arbitrary instructions.
    public static let preempt = JitterPlan(mode: .preempt)
    /// Every point yields the processor; cheap, and already exposes most lost updates.
    public static let yieldOnly = JitterPlan(unchecked: .points, probability: 1, yield: 1, sleep: 0, spin: 0)
    /// Every point sleeps below 50 µs: the strongest pressure at points, the slowest.
    public static let sleepy = JitterPlan(unchecked: .points, probability: 1, yield: 0, sleep: 1, spin: 0)

    /// Whether anything perturbs the schedule.
    public var isEnabled: Bool { actsAtPoints || preempts }

    /// Whether jitter points act: the mode uses points and the probability is above 0.
    public var actsAtPoints: Bool { mode.usesPoints && probability > 0 && yieldWeight + sleepWeight + spinWeight > 0 }

    /// Whether threads are preempted by timers.
    public var preempts: Bool { mode.usesPreemption && yieldWeight + sleepWeight + spinWeight > 0 }

    /// Whether the copies of an exec'd command wait at the preload library's start gate (``JitterMode/usesStartGate``).
    public var holdsAtStartGate: Bool { mode.usesStartGate }

    /// The signal preemption timers use: `SIGRTMAX - 2` (62 on Linux with glibc). When the code under test already
    /// has a handler for it, or installs one later (commands under the preload library), Shakedown steps aside.
    public static var preemptionSignal: Int32 { shakedown_preempt_signal() }

    /// What this plan does where its mode is not available yet, or `nil` when it runs as asked.
    public var fallbackNote: String? {
        // syscalls and pct are wired into runs; where they fall back, SyscallRunControl.prepare says so.
        nil
    }

    /// The mode, then `none` or the pressure of each mechanism it uses.
    public var description: String {
        if !isEnabled { return "none" }
        let actions = "yield:\(yieldWeight) sleep:\(sleepWeight)(<\(maximumSleep.shortDescription)) spin:\(spinWeight)(<\(maximumSpin))"
        var parts: [String] = []
        if actsAtPoints { parts.append("points p=\(probability)") }
        if preempts { parts.append("preempt every <\(preemptInterval.shortDescription)") }
        if mode == .gate { parts.append("start gate") }
        return "\(mode) (\(parts.joined(separator: ", ")); \(actions))"
    }

    /// A compact text form for passing the plan to exec'd cooperative commands: `mode;p,y,s,sp,sleepNs,spin,intervalNs`.
    package var encoded: String {
        "\(mode.rawValue);\(probability),\(yieldWeight),\(sleepWeight),\(spinWeight),\(maximumSleep.nanoseconds),\(maximumSpin),\(preemptInterval.nanoseconds)"
    }

    /// Parses ``encoded``; also the older six-field form without mode and interval (read as `points`).
    package init?(encoded: String) {
        var mode = JitterMode.points
        var fields = Substring(encoded)
        if let separator = encoded.firstIndex(of: ";") {
            guard let parsed = JitterMode(rawValue: String(encoded[..<separator])) else { return nil }
            mode = parsed
            fields = encoded[encoded.index(after: separator)...]
        }
        let parts = fields.split(separator: ",")
        guard parts.count == 6 || parts.count == 7, let p = Double(parts[0]), let y = Int(parts[1]),
              let sl = Int(parts[2]), let sp = Int(parts[3]), let ns = Int64(parts[4]), let ms = Int(parts[5])
        else { return nil }
        var interval = JitterPlan.standardPreemptInterval
        if parts.count == 7 {
            guard let intervalNs = Int64(parts[6]) else { return nil }
            interval = .nanoseconds(intervalNs)
        }
        guard let plan = try? JitterPlan(probability: p, yieldWeight: y, sleepWeight: sl, spinWeight: sp,
                                         maximumSleep: .nanoseconds(ns), maximumSpin: ms, mode: mode,
                                         preemptInterval: interval)
        else { return nil }
        self = plan
    }
}

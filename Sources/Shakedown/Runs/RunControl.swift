#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// The run's shared control block: barriers, worker slots, run-owned counters and round histograms.
///
/// Lives in a memfd mapping created before the run leader forks, so every worker sees it; cooperative
/// commands map the same memfd through an inherited descriptor. Layout: `shakedown_run_control` in the C shim.
package final class RunControl: @unchecked Sendable {
    package let region: SharedRegion
    package let control: UnsafeMutablePointer<shakedown_run_control>

    package init(processes: Int, rounds: Int, seed: Seed, observedCount: Int) throws(ShakedownError) {
        let size = Int(shakedown_run_control_size(UInt32(processes)))
        region = try SharedRegion(size: size, name: "shakedown-run")
        control = try region.allocate(byteCount: size, alignment: 64)
            .bindMemory(to: shakedown_run_control.self, capacity: 1)
        shape = (processes, rounds, observedCount)
        try initialize(processes: processes, rounds: rounds, seed: seed, observedCount: observedCount)
    }

    /// Makes the block what a fresh one for `seed` would be: every slot, barrier, counter and histogram zeroed
    /// and set up again. For a run leader kept across repetitions (``LeaderSession``); call it only while no
    /// process of the run is alive (the leader idle, every worker reaped), or a worker would see a torn block.
    /// Costs one `memset` of the block.
    /// - Throws: `.systemCall("pthread_mutex_init")` when the run lock cannot be set up again.
    package func reset(seed: Seed) throws(ShakedownError) {
        // The shape as made, never as read back: a command of the run may have scribbled over the block.
        guard let shape else {
            throw .invalidArgument("reset", "only the control block's creator can reset it")
        }
        memset(control, 0, Int(shakedown_run_control_size(UInt32(shape.processes))))
        try initialize(processes: shape.processes, rounds: shape.rounds, seed: seed, observedCount: shape.observedCount)
    }

    /// What the block was made for; nil for a block attached through a descriptor.
    private let shape: (processes: Int, rounds: Int, observedCount: Int)?

    private func initialize(processes: Int, rounds: Int, seed: Seed, observedCount: Int) throws(ShakedownError) {
        control.pointee.magic = SHAKEDOWN_RUN_MAGIC
        control.pointee.processes = UInt32(processes)
        control.pointee.rounds = UInt64(rounds)
        control.pointee.seed = seed.value
        control.pointee.observed_count = UInt32(observedCount)
        // Spin long enough to cover a peer's round on an idle core, then sleep: see ProcessBarrier.
        shakedown_barrier_init(shakedown_run_round_barrier(control), UInt32(processes), 20_000)
        shakedown_barrier_init(shakedown_run_start_gate(control), UInt32(processes), 20_000)
        try pthreadCall("pthread_mutex_init") { shakedown_mutex_init(shakedown_run_mutex(control), "run lock") }
    }

    /// Maps the control block of the run that started this process (a cooperative command).
    package init(attaching fd: CInt) throws(ShakedownError) {
        region = try SharedRegion(attaching: fd)
        control = region.base.bindMemory(to: shakedown_run_control.self, capacity: 1)
        shape = nil
        guard control.pointee.magic == SHAKEDOWN_RUN_MAGIC,
              region.size >= Int(clamping: shakedown_run_control_size(control.pointee.processes))
        else {
            throw ShakedownError(.malformedData(source: "descriptor \(fd)", reason: "not a Shakedown run control block"))
        }
    }

    // A command shares this block and may scribble on it: read its numbers without trapping.
    package var processes: Int { Int(clamping: control.pointee.processes) }
    package var rounds: Int { Int(clamping: control.pointee.rounds) }
    package var seed: Seed { Seed(control.pointee.seed) }
    package var observedCount: Int { Int(clamping: control.pointee.observed_count) }

    /// The round after which the judge stopped the run (a forbidden outcome, or a judge closure that failed).
    package var stopAfterRound: Int? {
        get {
            let value = withUnsafeMutablePointer(to: &control.pointee.stop_after_round) { shakedown_atomic_load_u64($0) }
            return value == 0 ? nil : Int(clamping: value - 1)
        }
        set {
            let value = newValue.map { UInt64(clamping: $0) &+ 1 } ?? 0
            withUnsafeMutablePointer(to: &control.pointee.stop_after_round) { shakedown_atomic_store_u64($0, value) }
        }
    }

    package lazy var roundBarrier = ProcessBarrier(shakedown_run_round_barrier(control), keeping: region)
    package lazy var startGate = ProcessBarrier(shakedown_run_start_gate(control), keeping: region)

    package func slot(_ index: Int) -> UnsafeMutablePointer<shakedown_worker_slot> {
        shakedown_run_worker(control, UInt32(index))
    }

    /// Run-owned counter `index` (for cooperative commands, which cannot reach the test's own counters).
    package func counter(_ index: Int, name: String) -> SharedCounter {
        SharedCounter(name: name, storage: shakedown_run_counter(control, UInt32(index)), keeping: region)
    }

    /// The run-owned lock (for cooperative commands, which cannot reach a mutex the test created).
    package lazy var mutex = ProcessMutex(name: "run lock", record: shakedown_run_mutex(control), keeping: region)

    /// Called by the last worker to arrive at a round barrier: records each observed counter's increment.
    package func recordRound(_ observed: [SharedCounter], baseline: Bool) {
        for (index, counter) in observed.enumerated() {
            shakedown_observation_record(shakedown_run_observation(control, UInt32(index)), counter.value, baseline ? 1 : 0)
        }
    }

    /// The histogram of observed counter `index`: (increment per round, rounds with that increment).
    package func histogram(_ index: Int) -> (buckets: [(increment: Int64, rounds: Int)], belowZero: Int, overflow: Int) {
        let observation = shakedown_run_observation(control, UInt32(index))
        var buckets: [(Int64, Int)] = []
        for delta in 0..<UInt32(SHAKEDOWN_HISTOGRAM_BUCKETS) {
            let count = shakedown_observation_bucket(observation, delta)
            if count > 0 { buckets.append((Int64(delta), Int(clamping: count))) }
        }
        return (buckets, Int(clamping: observation.pointee.below_zero), Int(clamping: observation.pointee.overflow))
    }
}

@_spi(ExperimentalScheduling) import _Concurrency

// `Task.sleep` on this runtime asks the current executor to schedule the wake-up when it can
// (`SchedulingExecutor`, still SPI) and otherwise goes to the platform's timer queue directly, past the hooks:
// after a fork that queue never fires. Scheduling here keeps sleeps on the executor's own clock.
extension JobExecutor: SchedulingExecutor {
    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        enqueue(UnownedJob(job), due: executorClockNow() &+ Self.nanoseconds(delay))
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        enqueue(UnownedJob(job), due: executorClockNow() &+ Self.nanoseconds(clock.now.duration(to: instant)))
    }

    /// A clock's duration in nanoseconds (0 when past or not a `Duration`, the only kind the standard clocks use).
    private static func nanoseconds<D>(_ duration: D) -> UInt64 {
        guard let duration = duration as? Duration, duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max / 2 : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}

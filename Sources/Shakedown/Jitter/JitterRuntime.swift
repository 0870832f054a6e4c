#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// Puts a plan's preemption into effect: in-process for closure workers, through the preload library for exec'd
/// commands.
///
/// Preemption uses one real-time signal, ``JitterPlan/preemptionSignal`` (`SIGRTMAX - 2`). When the code under test
/// already handles that signal, Shakedown steps aside and says so; a command under the preload library that installs
/// a handler for it later (`sigaction` or `signal`) makes every timer stop before its handler goes in.
package enum JitterRuntime {
    /// What installing preemption in a process did.
    package enum Installation: Equatable, Sendable {
        /// The plan does not preempt.
        case off
        /// The calling thread's timer is armed.
        case armed
        /// The signal already had a handler: no timers, the code's handler is untouched.
        case steppedAside(String)
        /// Timers are unavailable here (no kernel support, a sandbox): the run goes on without preemption.
        case unavailable(ShakedownError)

        /// A line for the report when preemption is not in effect as planned, else `nil`.
        package var note: String? {
            switch self {
            case .off, .armed: nil
            case let .steppedAside(reason): "preempt stepped aside: \(reason)"
            case let .unavailable(error): "preempt unavailable (\(error)): ran without it"
            }
        }
    }

    /// Arms preemption in this process for the calling thread (a closure worker's thread, right after `fork`).
    /// Threads the body starts later are not armed (a closure worker cannot interpose `pthread_create`); exec'd
    /// commands get every thread through the preload library.
    /// Cost: a signal every 1 µs ..< `plan.preemptInterval` per armed thread, and the action it takes.
    package static func installInWorker(plan: JitterPlan, seed: Seed) -> Installation {
        guard plan.preempts else { return .off }
        var error: CInt = 0
        let status = shakedown_preempt_install(
            seed.value, UInt64(clamping: plan.preemptInterval.nanoseconds), UInt32(clamping: plan.yieldWeight),
            UInt32(clamping: plan.sleepWeight), UInt32(clamping: plan.spinWeight),
            UInt64(clamping: plan.maximumSleep.nanoseconds), UInt64(clamping: plan.maximumSpin), &error)
        switch status {
        case 0: return .armed
        case 1:
            return .steppedAside("the code under test handles or ignores signal \(JitterPlan.preemptionSignal) (SIGRTMAX-2)")
        default:
            return .unavailable(.systemCall("timer_create", errno: .init(rawValue: error)))
        }
    }

    /// Arms a timer for the calling thread, for a thread a closure worker starts itself (after ``installInWorker``).
    package static func armCurrentThread() -> Bool { shakedown_preempt_arm_current_thread() == 0 }

    /// Stops every timer of this process for good.
    package static func stop() { shakedown_preempt_stop() }

    /// Timer signals handled in this process so far.
    package static var preemptions: Int { Int(truncatingIfNeeded: shakedown_preempt_fired()) }

    /// Of ``preemptions``, those that found their thread blocked in a system call: they take no action and double
    /// the thread's next interval (up to 32×), so a waiting thread is not woken hundreds of thousands of times a second.
    package static var preemptionsWhileBlocked: Int { Int(truncatingIfNeeded: shakedown_preempt_fired_blocked()) }

    /// The environment variable that carries the preemption settings into a command's preload library.
    package static let preemptVariable = "SHAKEDOWN_PREEMPT"
    /// Overrides where the preload library is looked for.
    package static let libraryVariable = "SHAKEDOWN_PREEMPT_LIBRARY"
    /// The preload library's file name.
    package static let libraryName = "libShakedownPreempt.so"

    /// The preload library: `SHAKEDOWN_PREEMPT_LIBRARY` if set, else `libShakedownPreempt.so` next to this process's
    /// executable (SwiftPM builds it there, beside the test bundle and the `shakedown` CLI). `nil` when missing.
    package static func preloadLibraryPath() -> String? {
        if let raw = getenv(libraryVariable) {
            let path = String(cString: raw)
            return access(path, R_OK) == 0 ? path : nil
        }
        guard let directory = ProcessEnvironment.executableDirectory else { return nil }
        let path = "\(directory)/\(libraryName)"
        return access(path, R_OK) == 0 ? path : nil
    }
}

extension JitterPlan {
    /// The environment a command runs with under this plan: `environment` (the shepherd's, `NAME=value` strings) with
    /// the preload library put first in `LD_PRELOAD` and its settings in `SHAKEDOWN_PREEMPT`, when the plan preempts,
    /// plus the start gate when one is given (all copies of one start share it); `environment` unchanged otherwise,
    /// or when the library cannot be found (``commandFallbackNote(executable:)`` says so).
    package func commandEnvironment(seed: Seed, merging environment: [String], gate: CommandStartGate? = nil) -> [String] {
        guard preempts || holdsAtStartGate, let library = JitterRuntime.preloadLibraryPath() else { return environment }
        var result: [String] = []
        var preload = library
        for entry in environment {
            if entry.hasPrefix("LD_PRELOAD=") {
                let existing = entry.dropFirst("LD_PRELOAD=".count)
                if !existing.isEmpty { preload += ":" + existing }
            } else if !entry.hasPrefix("\(JitterRuntime.preemptVariable)=") && !entry.hasPrefix("SHAKEDOWN_PREEMPT_GATE=") {
                result.append(entry)
            }
        }
        result.append("LD_PRELOAD=\(preload)")
        if preempts { result.append("\(JitterRuntime.preemptVariable)=\(preemptSettings(seed: seed))") }
        if let gate { result.append(gate.environmentEntry) }
        return result
    }

    /// The preload library's settings: `seed,max_interval_ns,yield,sleep,spin,max_sleep_ns,max_spin,signal`.
    package func preemptSettings(seed: Seed) -> String {
        "\(seed.value),\(preemptInterval.nanoseconds),\(yieldWeight),\(sleepWeight),\(spinWeight),\(maximumSleep.nanoseconds),\(maximumSpin),\(JitterPlan.preemptionSignal)"
    }

    /// Why `executable` will run without the planned preemption, or `nil` when it gets it: the library is missing,
    /// the executable is statically linked (the dynamic loader, and so `LD_PRELOAD`, never runs in it), or it is
    /// set-user-ID or set-group-ID to another user or group (the loader ignores `LD_PRELOAD` then).
    package func commandFallbackNote(executable: String) -> String? {
        guard preempts || holdsAtStartGate else { return nil }
        guard JitterRuntime.preloadLibraryPath() != nil else {
            return "\(mode) unavailable for \(executable): \(JitterRuntime.libraryName) not found (set \(JitterRuntime.libraryVariable)): ran without it"
        }
        if ElfInterpreter.isStaticallyLinked(executable) {
            return "\(mode) unavailable for \(executable): statically linked, so LD_PRELOAD cannot reach it: ran without it"
        }
        if SecureExecution.ignoresPreload(executable) {
            return "\(mode) unavailable for \(executable): set-user-ID or set-group-ID, so the loader ignores LD_PRELOAD: ran without it"
        }
        return nil
    }
}

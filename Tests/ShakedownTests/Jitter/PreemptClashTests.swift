#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import XCTest
@testable import Shakedown

/// Code under test that owns the preemption signal is not broken: Shakedown steps aside.
final class PreemptClashTests: XCTestCase {
    private func report(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 256)
        while fgets(&buffer, 256, file) != nil { text += buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
        return text
    }

    /// The command installs a handler for SIGRTMAX-2 after the preload library armed its timers: the timers stop
    /// before the command's handler goes in, so the handler sees only the command's own signals.
    func testACommandThatInstallsAHandlerForTheSignalMakesThePreloadStepAside() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        let reportPath = "/tmp/shakedown-clash-\(getpid())"
        defer { unlink(reportPath) }
        for trial in 0..<5 {
            let environment = JitterPlan.preempt.commandEnvironment(
                seed: Seed(UInt64(trial)), merging: RaceCatalogue.currentEnvironment() + ["SHAKEDOWN_PREEMPT_REPORT=\(reportPath)"])
            let pid = try RaceCatalogue.spawn(["\(RaceCatalogue.buildDirectory)/signal-owner"], environment: environment)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            XCTAssertEqual(status, 0, "signal-owner saw a signal that was not its own (trial \(trial))")
        }
        let lines = report(reportPath).split(separator: "\n")
        XCTAssertEqual(lines.count, 5, report(reportPath))
        for line in lines {
            XCTAssertTrue(line.hasSuffix("status=stepped-aside"), String(line))
            let fired = line.split(separator: " ").first { $0.hasPrefix("fired=") }.flatMap { Int($0.dropFirst(6)) }
            XCTAssertGreaterThan(fired ?? 0, 0, "timers fired during the warm-up, before the handler went in: \(line)")
        }
    }

    /// A signal already handled (or ignored) when preemption is installed: no timers, the handler untouched.
    func testInstallingInAWorkerWhoseCodeHandlesTheSignalStepsAside() throws {
        let run = try Shake.fork(processes: 1, jitter: .none) { worker in
            let signal = JitterPlan.preemptionSignal
            var action = sigaction()
            action.__sigaction_handler.sa_handler = SIG_IGN
            sigaction(signal, &action, nil)
            let installation = JitterRuntime.installInWorker(plan: .preempt, seed: worker.seed)
            guard case .steppedAside = installation else {
                worker.fail("expected to step aside, got \(installation)")
                return
            }
            var after = sigaction()
            sigaction(signal, nil, &after)
            worker.check(unsafeBitCast(after.__sigaction_handler.sa_handler, to: Int.self) == 1, "the code's SIG_IGN was replaced")
            worker.check(installation.note?.contains("SIGRTMAX-2") == true, installation.note ?? "no note")
        }
        XCTAssertTrue(run.isClean, run.summary)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Many runs in one test process: descriptors and resident memory must stay flat.
/// `SHAKEDOWN_SOAK_RUNS=5000 swift test --filter SoakTests` for the large version.
final class SoakTests: XCTestCase {
    private var runs: Int {
        getenv("SHAKEDOWN_SOAK_RUNS").flatMap { Int(String(cString: $0)) } ?? 150
    }

    private func residentKilobytes() -> Int {
        let status = ProcessTable.readSmallFile("/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    private func oneRun(_ number: Int) throws {
        let counter = try SharedCounter("soak")
        let report = try Shake.fork(processes: 2, rounds: 10, jitter: .yieldOnly, observing: [counter]) { worker in
            counter.increment()
            if number % 10 == 0, worker.index == 0, worker.round == 0, fork() == 0 { sleep(30); _exit(0) }
        }
        XCTAssertEqual(report.workers.map(\.outcome), [.completed, .completed], report.summary)
        XCTAssertEqual(report.orphans.count, number % 10 == 0 ? 1 : 0, report.summary)
    }

    func testDescriptorsAndMemoryStayFlatOverManyRuns() throws {
        let warmUp = 20
        for number in 0..<warmUp { try oneRun(number) }
        let descriptorsBefore = ProcessTable.openDescriptorCount()
        let residentBefore = residentKilobytes()
        for number in warmUp..<(warmUp + runs) { try oneRun(number) }
        let descriptorsAfter = ProcessTable.openDescriptorCount()
        let residentAfter = residentKilobytes()
        print("soak: \(runs) runs; descriptors \(descriptorsBefore) → \(descriptorsAfter); RSS \(residentBefore) kB → \(residentAfter) kB")
        XCTAssertEqual(descriptorsAfter, descriptorsBefore, "descriptors leaked")
        // A leak of even 16 kB per run would exceed this over 150 runs; allocator noise stays well below it.
        XCTAssertLessThan(residentAfter - residentBefore, 2_048, "resident memory grew by \(residentAfter - residentBefore) kB")
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [])
    }
}

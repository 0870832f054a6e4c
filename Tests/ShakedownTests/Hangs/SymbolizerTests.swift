#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// The symbolizer gives the same answers however it is run: one or two processes, with or without the
/// decompressed debug file cache, prepared ahead or not.
final class SymbolizerTests: XCTestCase {
    func testProcessesAndDebugFileCacheDoNotChangeAnswers() throws {
        let fixture = try startFixture("semaphore-wait", ["--sleepers", "2"])
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let snapshot = try HangInspector().capture(pid: pid)
        let locations = snapshot.threads.flatMap(\.frames).compactMap { frame -> Symbolizer.Location? in
            guard let module = frame.module, module.hasPrefix("/"), let offset = frame.offset else { return nil }
            return Symbolizer.Location(module: module, offset: offset)
        }
        XCTAssertFalse(locations.isEmpty)
        let modules = Array(Set(locations.map(\.module))).sorted()

        let plain = try Symbolizer(processes: 1, useDebugFileCache: false).symbolize(locations)
        XCTAssertTrue(plain.contains { $0.function == "start_thread" }, "\(plain.map(\.function))")

        let cache = NSTemporaryDirectory() + "shakedown-debug-cache-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: cache) }
        setenv("SHAKEDOWN_DEBUG_CACHE", cache, 1)
        defer { unsetenv("SHAKEDOWN_DEBUG_CACHE") }
        // The first starts filling the cache in the background; the second may or may not find the copies yet.
        for round in 0..<2 {
            let symbolizer = try Symbolizer(processes: 2)
            symbolizer.prepare(modules: modules)
            XCTAssertEqual(try symbolizer.symbolize(locations), plain, "round \(round)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// The preload library is linked by SwiftPM against libswiftCore, so it brings the Swift runtime into every command;
/// that runtime's crash handlers must not take over a command that is not a Swift program.
final class PreloadSwiftRuntimeTests: XCTestCase {
    func testACCommandThatCrashesDiesByItsSignalWithoutASwiftCrashReport() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        var template = Array("/tmp/shakedown-preload-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { close(fd); unlink(path) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO)
        posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO)
        let environment = JitterPlan.preempt.commandEnvironment(seed: Seed(2), merging: RaceCatalogue.currentEnvironment())
        let arguments = ["/bin/sh", "-c", "kill -SEGV $$"]
        var pid: pid_t = 0
        let pointers = (arguments.map { strdup($0) } + [nil], environment.map { strdup($0) } + [nil])
        defer { (pointers.0 + pointers.1).forEach { free($0) } }
        XCTAssertEqual(posix_spawn(&pid, "/bin/sh", &actions, nil, pointers.0, pointers.1), 0)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Before: the Swift runtime caught the signal, printed "*** Signal 11: Backtracing ..." and a crash report.
        XCTAssertEqual(status & 0x7F, SIGSEGV, "wait status \(status)")
        var output = [UInt8](repeating: 0, count: 4096)
        let count = pread(fd, &output, output.count, 0)
        let text = String(decoding: output.prefix(max(count, 0)), as: UTF8.self)
        XCTAssertFalse(text.contains("Backtracing") || text.contains("Crash"), text)
    }
}

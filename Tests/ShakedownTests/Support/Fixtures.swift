#if canImport(Glibc)
import Glibc
#endif
@testable import Shakedown

/// Where the package's fixture executables were built: next to the test bundle in the build folder.
enum Fixtures {
    static var directory: String {
        if let explicit = getenv("SHAKEDOWN_FIXTURES_DIR") { return String(cString: explicit) }
        // .../.build/debug/shakedownPackageTests.xctest
        return ProcessEnvironment.executableDirectory ?? ".build/debug"
    }

    /// This checkout's root (Tests/ShakedownTests/Support/Fixtures.swift is three folders below it).
    static let packageRoot: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    /// The absolute path of the fixture executable `name` (for example `"racy-counter"`).
    static func path(_ name: String) -> String { directory + "/" + name }
}

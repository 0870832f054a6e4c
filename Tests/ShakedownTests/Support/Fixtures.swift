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

    /// The absolute path of the fixture executable `name` (for example `"racy-counter"`).
    static func path(_ name: String) -> String { directory + "/" + name }
}

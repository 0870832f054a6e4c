#if canImport(Glibc)
import Glibc
#endif

/// Where the package's fixture executables were built: next to the test bundle in the build folder.
enum Fixtures {
    static var directory: String {
        if let explicit = getenv("SHAKEDOWN_FIXTURES_DIR") { return String(cString: explicit) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return ".build/debug" }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // .../.build/debug/shakedownPackageTests.xctest
        var components = path.split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast()
        return components.joined(separator: "/")
    }

    /// The absolute path of the fixture executable `name` (for example `"racy-counter"`).
    static func path(_ name: String) -> String { directory + "/" + name }
}

#if canImport(Glibc)
import Glibc
#endif

/// Finds the built-in fixture programs: `$SHAKEDOWN_FIXTURES_DIR`, else the folder this executable is in (the
/// package's build folder, where SwiftPM puts every executable).
enum FixtureLocator {
    static func path(of name: String) throws -> String {
        var directories: [String] = []
        if let explicit = getenv("SHAKEDOWN_FIXTURES_DIR") { directories.append(String(cString: explicit)) }
        if let own = ownDirectory() { directories.append(own) }
        for directory in directories {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw FixtureNotFound(name: name, searched: directories)
    }

    private static func ownDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }
}

struct FixtureNotFound: Error, CustomStringConvertible {
    let name: String
    let searched: [String]
    var description: String {
        "fixture `\(name)` not found in \(searched.joined(separator: ", ")); build the package first (`swift build`) or set SHAKEDOWN_FIXTURES_DIR"
    }
}

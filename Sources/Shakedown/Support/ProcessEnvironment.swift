#if canImport(Glibc)
import Glibc
#endif

/// This process's environment and executable, read the way a process that is about to spawn needs them.
package enum ProcessEnvironment {
    /// Every `NAME=value` entry of `environ`, in order. Reads the C array directly: no Foundation, safe in a
    /// forked child that is about to exec.
    package static func current() -> [String] {
        var result: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            result.append(String(cString: pointer))
            entry += 1
        }
        return result
    }

    /// The folder of this process's executable (from `/proc/self/exe`), where SwiftPM also builds the package's
    /// other products; `nil` when the link cannot be read.
    package static var executableDirectory: String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }
}

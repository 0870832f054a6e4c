#if canImport(Glibc)
import Glibc
#endif
import CShakedownBenchmarks
import Shakedown

/// What the table says about where it was measured.
enum Machine {
    /// Online processors (what `nproc` prints without cgroup limits).
    static var processors: Int { sysconf(Int32(_SC_NPROCESSORS_ONLN)) }

    /// Kernel release and machine, as `uname -rm` prints them.
    static var kernel: String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        let release = withUnsafeBytes(of: name.release) { text($0) }
        let machine = withUnsafeBytes(of: name.machine) { text($0) }
        return "\(release) \(machine)"
    }

    /// The first "model name" of /proc/cpuinfo.
    static var cpuModel: String {
        guard let file = fopen("/proc/cpuinfo", "r") else { return "unknown CPU" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let entry = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if entry.hasPrefix("model name"), let colon = entry.firstIndex(of: ":") {
                return entry[entry.index(after: colon)...].trimmingCharacters(in: " \t\n")
            }
        }
        return "unknown CPU"
    }

    /// The 1-minute load average from /proc/loadavg, as text.
    static var loadAverage: String {
        guard let file = fopen("/proc/loadavg", "r") else { return "?" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return "?" }
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: " ").first.map(String.init) ?? "?"
    }

    /// Now, as `YYYY-MM-DD HH:MM UTC`.
    static var utcDate: String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M UTC", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory of this executable (from /proc/self/exe), where SwiftPM also puts the `shakedown` CLI.
    static var executableDirectory: String? { ProcessEnvironment.executableDirectory }

    /// The `shakedown` CLI built next to this executable, if it is there.
    static var cliPath: String? {
        guard let directory = executableDirectory else { return nil }
        let path = directory + "/shakedown"
        return access(path, X_OK) == 0 ? path : nil
    }

    /// `git describe --always --dirty` of the checkout this was built from, or "unknown".
    static func sourceRevision(sourceFile: String = #filePath) -> String {
        var directory = sourceFile
        if let slash = directory.lastIndex(of: "/") { directory = String(directory[..<slash]) }
        let arguments = ["/bin/sh", "-c", "git -C \"$1\" describe --always --dirty 2>/dev/null", "sh", directory]
        var output = [CChar](repeating: 0, count: 128)
        let pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        let status = pointers.withUnsafeBufferPointer { argv in
            output.withUnsafeMutableBufferPointer { buffer -> Int32 in
                guard let argvBase = argv.baseAddress, let outputBase = buffer.baseAddress else { return -EINVAL }
                return bench_run_capturing(argvBase, outputBase, buffer.count)
            }
        }
        let text = String(decoding: output.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .filter { !$0.isWhitespace }
        return status == 0 && !text.isEmpty ? text : "unknown"
    }

    /// Whether this executable was built with optimization (`-c release`).
    static var buildConfiguration: String {
        #if DEBUG
        return "**debug build: numbers are not representative; build with -c release**"
        #else
        return "release build"
        #endif
    }

    /// Benchmarks/python_fork.py: next to this source file (a checkout), else under the working directory.
    static func pythonScript(sourceFile: String = #filePath) -> String? {
        var directory = sourceFile
        if let slash = directory.lastIndex(of: "/") { directory = String(directory[..<slash]) }
        let candidates = [directory + "/../python_fork.py", "Benchmarks/python_fork.py"]
        return candidates.first { access($0, R_OK) == 0 }
    }

    private static func text(_ raw: UnsafeRawBufferPointer) -> String {
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var result = self
        while let first = result.first, set.contains(first) { result.removeFirst() }
        while let last = result.last, set.contains(last) { result.removeLast() }
        return String(result)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// What each worker process runs: a closure forked from the test, or a command it execs.
package enum WorkerLaunch {
    case closure(ClosureWork)
    case command(CommandLine)

    /// A closure run's body and the steps around it.
    package struct ClosureWork {
        package var body: (Worker) throws -> Void
        package var lifecycle = WorkerLifecycle()
        package var judge: ErasedJudge?

        package init(body: @escaping (Worker) throws -> Void, lifecycle: WorkerLifecycle = WorkerLifecycle(),
                     judge: ErasedJudge? = nil) {
            self.body = body
            self.lifecycle = lifecycle
            self.judge = judge
        }
    }

    /// A command resolved before the run starts, so a missing executable is an error, not N failed workers.
    package struct CommandLine: Sendable {
        package let executable: String
        package let arguments: [String]

        /// Resolves `arguments[0]` like `execvp` would: a path with a slash as is, else through `PATH`, taking
        /// only regular files (a directory passes `access(X_OK)` but cannot be exec'd). A readable file that exec
        /// would refuse is refused here too, so N copies do not each fail to start: a `#!` script whose
        /// interpreter is missing, and a file that is neither ELF nor `#!` when binfmt_misc has no other formats.
        /// - Throws: `.invalidArgument("command")` when empty, `.executableNotFound` when not found, not
        ///   executable, not a regular file, a script whose interpreter is missing, or not an executable format.
        package init(_ arguments: [String]) throws(ShakedownError) {
            guard let first = arguments.first, !first.isEmpty else {
                throw .invalidArgument("command", "must name an executable")
            }
            func isExecutableFile(_ path: String) -> Bool {
                var info = stat()
                return access(path, X_OK) == 0 && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
            }
            // The first bytes of the file, when it is readable (an execute-only file is left to exec).
            func header(of path: String) -> [UInt8]? {
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return nil }
                defer { close(fd) }
                var header = [UInt8](repeating: 0, count: 256)
                let count = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                return count >= 0 ? Array(header.prefix(count)) : nil
            }
            // Whether binfmt_misc may run other formats here (Java, Wine, QEMU): then only exec can tell.
            func hasExtraFormats() -> Bool {
                guard let directory = opendir("/proc/sys/fs/binfmt_misc") else { return true }
                defer { closedir(directory) }
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if ![".", "..", "register", "status"].contains(name) { return true }
                }
                return false
            }
            func checked(_ path: String) throws(ShakedownError) -> String {
                guard let header = header(of: path) else { return path }
                if header.starts(with: [UInt8(ascii: "#"), UInt8(ascii: "!")]) {
                    let line = header.dropFirst(2).prefix { $0 != UInt8(ascii: "\n") }
                    let name = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                        .prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
                    let interpreter = String(decoding: name, as: UTF8.self)
                    guard isExecutableFile(interpreter) else {
                        throw ShakedownError(.executableNotFound("\(path): its #! interpreter `\(interpreter)` is missing or not executable"))
                    }
                } else if !header.starts(with: [0x7F, UInt8(ascii: "E"), UInt8(ascii: "L"), UInt8(ascii: "F")]),
                          !hasExtraFormats() {
                    // execve would fail with ENOEXEC (a shell would run it with sh; exec does not).
                    throw ShakedownError(.executableNotFound("\(path): not an executable format (neither ELF nor a #! script; add a #! line)"))
                }
                return path
            }
            self.arguments = arguments
            if first.contains("/") {
                var info = stat()
                if stat(first, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
                    let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
                    throw ShakedownError(.executableNotFound("\(first) is \(kind)"))
                }
                guard isExecutableFile(first) else { throw ShakedownError(.executableNotFound(first)) }
                executable = try checked(first)
                return
            }
            let searchPath = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
            for directory in searchPath.split(separator: ":") {
                let candidate = "\(directory)/\(first)"
                if isExecutableFile(candidate) {
                    executable = try checked(candidate)
                    return
                }
            }
            throw ShakedownError(.executableNotFound(first))
        }
    }
}

/// Environment variables through which a run hands its shared state to exec'd cooperative commands.
package enum WorkerEnvironment {
    /// Descriptor of the run's control block (a memfd).
    static let controlDescriptor = "SHAKEDOWN_RUN_FD"
    /// Descriptor of the worker's result channel.
    static let resultDescriptor = "SHAKEDOWN_RESULT_FD"
    /// The worker's index.
    static let workerIndex = "SHAKEDOWN_WORKER"
    /// The run's jitter plan, encoded.
    static let jitterPlan = "SHAKEDOWN_JITTER"
}

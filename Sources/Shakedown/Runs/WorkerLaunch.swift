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
        /// only regular files (a directory passes `access(X_OK)` but cannot be exec'd). What only exec can judge (a
        /// missing `#!` interpreter, a format the kernel does not run) is reported per copy with exec's errno.
        /// - Throws: `.invalidArgument("command")` when empty, `.executableNotFound` when not found, not
        ///   executable, or not a regular file (a directory, a device).
        package init(_ arguments: [String]) throws(ShakedownError) {
            guard let first = arguments.first, !first.isEmpty else {
                throw .invalidArgument("command", "must name an executable")
            }
            func isExecutableFile(_ path: String) -> Bool {
                var info = stat()
                return access(path, X_OK) == 0 && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
            }
            self.arguments = arguments
            if first.contains("/") {
                var info = stat()
                if stat(first, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
                    let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
                    throw ShakedownError(.executableNotFound("\(first) is \(kind)"))
                }
                guard isExecutableFile(first) else { throw ShakedownError(.executableNotFound(first)) }
                executable = first
                return
            }
            let searchPath = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
            for directory in searchPath.split(separator: ":") {
                let candidate = "\(directory)/\(first)"
                if isExecutableFile(candidate) {
                    executable = candidate
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CShakedown

/// Starts the helper programs hang capture uses (llvm-symbolizer, llvm-objcopy) so that they cannot outlive it.
///
/// From the main thread the helper gets `PR_SET_PDEATHSIG(SIGKILL)` (``shakedown_spawn_tied``): if the inspector is
/// killed mid-capture, the kernel kills its helpers at once instead of leaving them under pid 1. The signal fires
/// when the *thread* that forked exits, so from any other thread (a test runner's worker, a Dispatch queue that may
/// retire its thread) the helper is started with plain `posix_spawn`, and the inspector's own cleanup ends it.
/// Costs one fork + exec (≈ 1 ms) either way.
enum HelperSpawn {
    /// Starts `path` with `arguments` (argv[0] included); descriptors become 0, 1, 2 (nil: /dev/null).
    ///
    /// - Throws: `ShakedownError.systemCall` naming the call and errno when the helper cannot be started.
    static func start(
        _ path: String, arguments: [String], standardInput: CInt? = nil, standardOutput: CInt? = nil,
        standardError: CInt? = nil
    ) throws(ShakedownError) -> pid_t {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result: CInt
        if shakedown_gettid() == getpid() {
            result = shakedown_spawn_tied(
                path, &argv, environ, standardInput ?? -1, standardOutput ?? -1, standardError ?? -1, &pid)
        } else {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            for (descriptor, target, flags) in [(standardInput, 0, O_RDONLY), (standardOutput, 1, O_WRONLY), (standardError, 2, O_WRONLY)] {
                if let descriptor {
                    posix_spawn_file_actions_adddup2(&actions, descriptor, CInt(target))
                } else {
                    posix_spawn_file_actions_addopen(&actions, CInt(target), "/dev/null", flags, 0)
                }
            }
            result = posix_spawn(&pid, path, &actions, nil, &argv, environ)
        }
        guard result == 0 else {
            throw ShakedownError.systemCall("spawn(\(path))", errno: .init(rawValue: result))
        }
        return pid
    }
}

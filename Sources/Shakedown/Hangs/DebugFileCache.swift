#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Decompressed copies of separate debug files, kept by build id so `llvm-symbolizer` skips zlib.
///
/// Distributions ship separate debug files (libc6-dbg's `/usr/lib/debug/.build-id/…`) with compressed DWARF
/// sections; llvm-symbolizer inflates all of them when it opens the file, which for glibc is ≈ 50 ms of a ≈ 60 ms
/// load. When a symbolizer that met such a file is done, `llvm-objcopy --decompress-debug-sections` writes an
/// uncompressed copy under the cache directory; later symbolizer processes find it first (the cache directory is
/// passed before `/usr/lib/debug`). A build id names one exact build, so a copy never goes stale. The first report
/// on a machine still loads the compressed file itself.
struct DebugFileCache: Sendable {
    /// The directory holding `.build-id/xx/rest.debug` copies.
    let directory: String
    /// `llvm-objcopy`, which writes the copies.
    let objcopyPath: String

    /// Where system debug files are looked up, and where the copies mirror them.
    static let systemDebugDirectory = "/usr/lib/debug"

    /// The cache directory: `$SHAKEDOWN_DEBUG_CACHE` ("off" or empty disables it), else
    /// `$XDG_CACHE_HOME/shakedown/debug`, else `$HOME/.cache/shakedown/debug`. Nil when disabled, when no home is
    /// known, or when `llvm-objcopy` is not next to `symbolizerPath`.
    static func standard(symbolizerPath: String) -> DebugFileCache? {
        let directory: String
        if let explicit = getenv("SHAKEDOWN_DEBUG_CACHE").map({ String(cString: $0) }) {
            guard !explicit.isEmpty, explicit != "off" else { return nil }
            directory = explicit
        } else if let xdg = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), xdg.hasPrefix("/") {
            directory = xdg + "/shakedown/debug"
        } else if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") {
            directory = home + "/.cache/shakedown/debug"
        } else {
            return nil
        }
        let objcopy = symbolizerPath.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/") + "/llvm-objcopy"
        guard access(objcopy, X_OK) == 0 else { return nil }
        return DebugFileCache(directory: directory, objcopyPath: objcopy)
    }

    /// A decompressed copy still to be made: the compressed debug file and where its copy goes.
    struct PlannedCopy: Sendable, Hashable {
        let source: String
        let destination: String
    }

    /// The copy to make for `module`, when its separate debug file has compressed sections and no copy exists yet.
    func plannedCopy(for module: String) -> PlannedCopy? {
        guard let buildID = ELFFile.buildID(path: module), buildID.count > 2 else { return nil }
        let relative = "/.build-id/\(buildID.prefix(2))/\(buildID.dropFirst(2)).debug"
        let source = Self.systemDebugDirectory + relative
        let destination = directory + relative
        guard access(destination, F_OK) != 0, access(source, R_OK) == 0, ELFFile.hasCompressedSections(path: source)
        else { return nil }
        return PlannedCopy(source: source, destination: destination)
    }

    /// Writes the copy with `llvm-objcopy --decompress-debug-sections` and waits for it (at most 30 s), then
    /// renames it into place, so a half-written copy is never found.
    ///
    /// Symbolizers call this when they are done, after every answer was given: the report that found the module
    /// is not held up, and no process is left running behind the caller (a tool that reports orphans must not
    /// make any). Costs one `llvm-objcopy` run per debug file, once per machine (≈ 0.1 s for glibc's).
    func make(_ copy: PlannedCopy) {
        guard let slash = copy.destination.lastIndex(of: "/"),
              Self.makeDirectories(String(copy.destination[..<slash]))
        else { return }
        let temporary = copy.destination + ".\(getpid()).partial"
        let arguments = [objcopyPath, "--decompress-debug-sections", copy.source, temporary]
        // Dies with this process (HelperSpawn): a killed shakedown leaves only the .partial file, never a process.
        guard let pid = try? HelperSpawn.start(objcopyPath, arguments: arguments) else { return }
        var status: CInt = 0
        let deadline = monotonicNanoseconds() + 30_000_000_000
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result == -1 && errno != EINTR { return }
            if monotonicNanoseconds() > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                status = -1
                break
            }
            usleep(2_000)
        }
        if status == 0 {
            rename(temporary, copy.destination)
        } else {
            unlink(temporary)
        }
    }

    private static func makeDirectories(_ path: String) -> Bool {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { return false }
        }
        return true
    }
}

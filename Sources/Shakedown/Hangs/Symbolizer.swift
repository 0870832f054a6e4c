#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Names code addresses with one long-running `llvm-symbolizer` process: function, source file and line, from the
/// module's symbol tables and debug information (including separate debug files found by build id, which is what
/// gives glibc internals such as `__lll_lock_wait` their real names).
///
/// The process is started on first use and fed queries through a socket; answers are cached per (module, offset),
/// so each distinct frame costs one round trip (tens of microseconds once the module's debug information is
/// loaded; the first query for a large module can take a second). Names are demangled in-process. Safe to share
/// between threads: queries are serialized.
public final class Symbolizer: Sendable {
    /// An address inside a module, numbered as the module's ELF file numbers it.
    public struct Location: Hashable, Sendable {
        /// The module file's path.
        public var module: String
        /// The ELF virtual address inside it (not the runtime address).
        public var offset: UInt64

        public init(module: String, offset: UInt64) {
            self.module = module
            self.offset = offset
        }
    }

    /// What is known about a location.
    public struct Symbol: Hashable, Sendable {
        /// The demangled function name.
        public var function: String?
        /// The name as the symbol table spells it.
        public var linkageName: String?
        /// The source file, when the module has debug information.
        public var file: String?
        /// The source line, when the module has debug information.
        public var line: Int?

        public init(function: String? = nil, linkageName: String? = nil, file: String? = nil, line: Int? = nil) {
            self.function = function
            self.linkageName = linkageName
            self.file = file
            self.line = line
        }
    }

    /// The `llvm-symbolizer` executable this symbolizer runs.
    public let executablePath: String

    private struct Worker: ~Copyable {
        var pid: pid_t = 0
        var socket: CInt = -1
        var buffered: [UInt8] = []
    }

    private struct State: ~Copyable {
        var worker: Worker? = nil
        var cache: [Location: Symbol] = [:]
        var broken: String? = nil
    }

    private let state = Mutex(State())

    /// How long one batch of answers may take before the worker is considered wedged and killed.
    private static let answerTimeLimit: Int64 = 60_000_000_000

    /// Creates a symbolizer that will run `executablePath`, or the one ``locateLLVMSymbolizer()`` finds.
    /// Starts no process yet.
    ///
    /// - Throws: `ShakedownError.Code.executableNotFound` when no `llvm-symbolizer` can be found.
    public init(executablePath: String? = nil) throws(ShakedownError) {
        guard let path = executablePath ?? Self.locateLLVMSymbolizer() else {
            throw ShakedownError(.executableNotFound(
                "llvm-symbolizer (set SHAKEDOWN_LLVM_SYMBOLIZER, or put the Swift toolchain's bin folder on PATH)"))
        }
        guard access(path, X_OK) == 0 else { throw ShakedownError(.executableNotFound(path)) }
        self.executablePath = path
    }

    deinit {
        state.withLock { state in
            if let worker = state.worker.take() { Self.stop(worker) }
        }
    }

    /// Finds `llvm-symbolizer`: `$SHAKEDOWN_LLVM_SYMBOLIZER`, else the one next to the `swift` found on PATH (the
    /// toolchain's, which understands Swift's debug information), else the first on PATH. Nil if none.
    public static func locateLLVMSymbolizer() -> String? {
        if let explicit = getenv("SHAKEDOWN_LLVM_SYMBOLIZER") {
            let path = String(cString: explicit)
            if !path.isEmpty { return path }
        }
        let directories = (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin")
            .split(separator: ":").map(String.init)
        for directory in directories where access(directory + "/swift", X_OK) == 0 {
            var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard realpath(directory + "/swift", &resolved) != nil else { continue }
            let swiftPath = String(decoding: resolved.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let toolchainBin = swiftPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            if access(toolchainBin + "/llvm-symbolizer", X_OK) == 0 { return toolchainBin + "/llvm-symbolizer" }
        }
        for directory in directories where access(directory + "/llvm-symbolizer", X_OK) == 0 {
            return directory + "/llvm-symbolizer"
        }
        return nil
    }

    /// Symbolizes `locations`, in order. Unknown locations give an empty ``Symbol``.
    ///
    /// - Throws: `ShakedownError` when the worker cannot be started or stops answering; later calls then fail
    ///   the same way without retrying.
    public func symbolize(_ locations: [Location]) throws(ShakedownError) -> [Symbol] {
        try state.withLock { (state: inout State) throws(ShakedownError) -> [Symbol] in
            if let broken = state.broken {
                throw ShakedownError(.executableNotFound("\(executablePath) (not usable: \(broken))"))
            }
            var missing: [Location] = []
            var seen = Set<Location>()
            for location in locations where state.cache[location] == nil && seen.insert(location).inserted {
                missing.append(location)
            }
            do throws(ShakedownError) {
                if !missing.isEmpty {
                    var worker: Worker
                    if let running = state.worker.take() { worker = running } else { worker = try start() }
                    // Batches keep both socket buffers far from full, so neither side blocks on the other.
                    var offset = 0
                    while offset < missing.count {
                        let batch = Array(missing[offset..<min(offset + 64, missing.count)])
                        let symbols: [Symbol]
                        do throws(ShakedownError) {
                            symbols = try ask(batch, worker: &worker)
                        } catch {
                            Self.stop(worker)
                            throw error
                        }
                        for (location, symbol) in zip(batch, symbols) { state.cache[location] = symbol }
                        offset += batch.count
                    }
                    state.worker = consume worker
                }
            } catch {
                state.broken = error.description
                throw error
            }
            return locations.map { state.cache[$0] ?? Symbol() }
        }
    }

    // MARK: the worker process

    private func start() throws(ShakedownError) -> Worker {
        var sockets: [CInt] = [-1, -1]
        try syscall("socketpair") { socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0, &sockets) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies, so only stdin/stdout of the worker keep the socket.
        posix_spawn_file_actions_adddup2(&actions, sockets[1], 0)
        posix_spawn_file_actions_adddup2(&actions, sockets[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // --inlines lists inlined frames innermost first and the physical function last; only the last is kept, so a
        // frame is named after the function that owns the code (what unwinding walked), with its line there.
        let arguments = [executablePath, "--inlines", "--functions=linkage", "--no-demangle", "--output-style=LLVM"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executablePath, &actions, nil, &argv, environ)
        close(sockets[1])
        guard result == 0 else {
            close(sockets[0])
            throw ShakedownError.systemCall("posix_spawn(\(executablePath))", errno: .init(rawValue: result))
        }
        return Worker(pid: pid, socket: sockets[0])
    }

    private static func stop(_ worker: consuming Worker) {
        close(worker.socket)  // end of input: the worker exits
        for _ in 0..<200 {
            var status: CInt = 0
            let result = waitpid(worker.pid, &status, WNOHANG)
            if result == worker.pid || (result == -1 && errno != EINTR) { return }
            usleep(1_000)
        }
        kill(worker.pid, SIGKILL)
        var status: CInt = 0
        while waitpid(worker.pid, &status, 0) == -1 && errno == EINTR {}
    }

    private func ask(_ batch: [Location], worker: inout Worker) throws(ShakedownError) -> [Symbol] {
        var query = ""
        for location in batch { query += "\"\(location.module)\" 0x\(String(location.offset, radix: 16))\n" }
        try send(Array(query.utf8), to: worker.socket)
        let deadline = monotonicNanoseconds() + Self.answerTimeLimit
        var symbols: [Symbol] = []
        for location in batch {
            // One answer per query: "function\nfile:line:column\n" per inlining level, then an empty line
            // ("??" parts when unknown).
            var lines: [String] = []
            while true {
                let line = try readLine(&worker, deadline: deadline)
                if line.isEmpty { break }
                lines.append(line)
            }
            symbols.append(Self.parse(lines, module: location.module))
        }
        return symbols
    }

    private static func parse(_ lines: [String], module: String) -> Symbol {
        var symbol = Symbol()
        let lines = lines.count > 2 ? Array(lines.suffix(2)) : lines
        if let name = lines.first, name != "??" {
            symbol.linkageName = name
            symbol.function = Demangler.demangle(name)
        }
        if lines.count > 1 {
            // "path:line:column"; the path itself may contain colons.
            var parts = lines[1].split(separator: ":", omittingEmptySubsequences: false)
            if parts.count >= 3 { parts.removeLast() }
            if parts.count >= 2, let line = Int(parts.removeLast()), line > 0 {
                let file = parts.joined(separator: ":")
                if file != "??" {
                    symbol.file = file
                    symbol.line = line
                }
            }
        }
        return symbol
    }

    private func send(_ bytes: [UInt8], to socket: CInt) throws(ShakedownError) {
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a dead worker gives EPIPE here instead of killing this process with SIGPIPE.
            let count = try syscall("send(llvm-symbolizer)") {
                bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
            }
            sent += count
        }
    }

    private func readLine(_ worker: inout Worker, deadline: Int64) throws(ShakedownError) -> String {
        while true {
            if let newline = worker.buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: worker.buffered[..<newline], as: UTF8.self)
                worker.buffered.removeSubrange(...newline)
                return line
            }
            let remaining = deadline - monotonicNanoseconds()
            guard remaining > 0 else {
                throw ShakedownError(.malformedData(source: executablePath, reason: "no answer within 60 s"))
            }
            var descriptor = pollfd(fd: worker.socket, events: Int16(POLLIN), revents: 0)
            let ready = try syscall("poll(llvm-symbolizer)") { poll(&descriptor, 1, CInt(min(remaining / 1_000_000 + 1, 60_000))) }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let socket = worker.socket
            let count = try syscall("recv(llvm-symbolizer)") {
                chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            }
            if count == 0 {
                throw ShakedownError(.malformedData(source: executablePath, reason: "the process exited mid-answer"))
            }
            worker.buffered.append(contentsOf: chunk[0..<count])
        }
    }
}

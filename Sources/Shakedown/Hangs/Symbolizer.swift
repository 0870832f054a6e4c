#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Names code addresses with long-running `llvm-symbolizer` processes: function, source file and line, from the
/// module's symbol tables and debug information (including separate debug files found by build id, which is what
/// gives glibc internals such as `__lll_lock_wait` their real names).
///
/// Up to two worker processes (one per CPU) are fed queries through sockets, each module always going to the same
/// worker so its debug information is loaded once. ``prepare(modules:)`` starts them early and has them load the
/// modules expected to be slow while the caller does something else (the ptrace capture); the first prepared
/// module gets a worker to itself. Answers are cached per (module, offset), so each distinct frame costs one round
/// trip (tens of microseconds once the module is loaded; loading libc's compressed separate debug information
/// takes tens of milliseconds, a large module up to a second). Names are demangled in-process. Safe to share
/// between threads: queries are serialized.
public final class Symbolizer: Sendable {
    /// An address inside a module, numbered as the module's ELF file numbers it.
    public struct Location: Hashable, Sendable {
        /// The module file's path.
        public var module: String
        /// The ELF virtual address inside it (not the runtime address).
        public var offset: UInt64

        /// A location at ELF virtual address `offset` of the module file at `module`.
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

        /// A symbol with the given parts; all unknown by default.
        public init(function: String? = nil, linkageName: String? = nil, file: String? = nil, line: Int? = nil) {
            self.function = function
            self.linkageName = linkageName
            self.file = file
            self.line = line
        }
    }

    /// The `llvm-symbolizer` executable this symbolizer runs.
    public let executablePath: String
    /// How many `llvm-symbolizer` processes this symbolizer may run at once.
    public let processCount: Int
    private let debugFileCache: DebugFileCache?

    private struct Worker {
        var pid: pid_t = 0
        var socket: CInt = -1
        var buffered: [UInt8] = []
        /// Answers to warm-up queries still to be read and thrown away before the next real answer.
        var pendingWarmUps = 0
    }

    private struct State: ~Copyable {
        /// Indexed like `assigned`; nil until first needed.
        var workers: [Worker?] = []
        /// Module path → index of the worker that has (or will have) it loaded.
        var assignment: [String: Int] = [:]
        /// Modules per worker, to balance new ones.
        var assigned: [Int] = []
        /// The worker kept for the first prepared module, if any.
        var reserved: Int? = nil
        var cache: [Location: Symbol] = [:]
        var broken: String? = nil
        /// Debug files to decompress into the cache once this symbolizer is done.
        var plannedCopies: Set<DebugFileCache.PlannedCopy> = []
    }

    private let state: Mutex<State>

    /// How long one batch of answers may take before the worker is considered wedged and killed.
    private static let answerTimeLimit: Int64 = 60_000_000_000
    /// Queries per worker and round trip: keeps both socket buffers far from full, so neither side blocks.
    private static let batchSize = 64

    /// Creates a symbolizer that will run `executablePath`, or the one ``locateLLVMSymbolizer()`` finds, in up to
    /// `processes` processes (by default one per online CPU, at most two). Starts no process yet.
    ///
    /// Compressed separate debug files are decompressed once into a cache (see `SHAKEDOWN_DEBUG_CACHE` in
    /// docs/hangs.md) when `useDebugFileCache` is true and `llvm-objcopy` sits next to `llvm-symbolizer`.
    ///
    /// - Throws: `ShakedownError.Code.executableNotFound` when no `llvm-symbolizer` can be found.
    public init(executablePath: String? = nil, processes: Int? = nil, useDebugFileCache: Bool = true) throws(ShakedownError) {
        guard let path = executablePath ?? Self.locateLLVMSymbolizer() else {
            throw ShakedownError(.executableNotFound(
                "llvm-symbolizer (set SHAKEDOWN_LLVM_SYMBOLIZER, or put the Swift toolchain's bin folder on PATH)"))
        }
        guard access(path, X_OK) == 0 else { throw ShakedownError(.executableNotFound(path)) }
        self.executablePath = path
        debugFileCache = useDebugFileCache ? DebugFileCache.standard(symbolizerPath: path) : nil
        // A second process only helps when a second CPU can run it.
        let count = max(1, processes ?? min(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        processCount = count
        var initial = State()
        initial.workers = (0..<count).map { _ in nil }
        initial.assigned = Array(repeating: 0, count: count)
        state = Mutex(initial)
    }

    deinit {
        state.withLock { state in
            var running: [Worker] = []
            for index in state.workers.indices {
                if let worker = state.workers[index].take() { running.append(worker) }
            }
            Self.stop(running)
            // Only now, with every answer given: fill the debug file cache for the next symbolizer.
            if let debugFileCache {
                for copy in state.plannedCopies { debugFileCache.make(copy) }
            }
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

    /// Starts the worker processes and has them load `modules` (module paths, most expensive first) without
    /// waiting for them: call it before doing something else, such as a capture, so loading overlaps that work.
    /// The first module gets a worker to itself when there are several. Modules already loaded are skipped.
    /// Failures are remembered and reported by the next ``symbolize(_:)``.
    public func prepare(modules: [String]) {
        state.withLock { (state: inout State) in
            guard state.broken == nil else { return }
            do throws(ShakedownError) {
                for module in modules where state.assignment[module] == nil {
                    let index = place(module, in: &state, reserving: state.reserved == nil && processCount > 1)
                    if state.workers[index] == nil { state.workers[index] = try start() }
                    guard let socket = state.workers[index]?.socket else { continue }
                    // Any address makes llvm-symbolizer open the module and its debug information; the answer
                    // is read and dropped before the next real one.
                    try send(Array("\"\(module)\" 0x0\n".utf8), to: socket)
                    state.workers[index]?.pendingWarmUps += 1
                }
            } catch {
                state.broken = error.description
                Self.stopAll(&state)
            }
        }
    }

    /// Symbolizes `locations`, in order. Unknown locations give an empty ``Symbol``.
    ///
    /// - Throws: `ShakedownError` when a worker cannot be started or stops answering; later calls then fail
    ///   the same way without retrying.
    public func symbolize(_ locations: [Location]) throws(ShakedownError) -> [Symbol] {
        try state.withLock { (state: inout State) throws(ShakedownError) -> [Symbol] in
            if let broken = state.broken {
                throw ShakedownError(.executableNotFound("\(executablePath) (not usable: \(broken))"))
            }
            var missing: [[Location]] = Array(repeating: [], count: processCount)
            var seen = Set<Location>()
            for location in locations where state.cache[location] == nil && seen.insert(location).inserted {
                missing[place(location.module, in: &state)].append(location)
            }
            do throws(ShakedownError) {
                // Each round sends one batch to every busy worker before reading any answer, so the workers
                // look up in parallel.
                var done = Array(repeating: 0, count: processCount)
                while done.indices.contains(where: { done[$0] < missing[$0].count }) {
                    var sent: [(index: Int, batch: ArraySlice<Location>)] = []
                    for index in missing.indices where done[index] < missing[index].count {
                        let batch = missing[index][done[index]..<min(done[index] + Self.batchSize, missing[index].count)]
                        done[index] += batch.count
                        if state.workers[index] == nil { state.workers[index] = try start() }
                        guard let socket = state.workers[index]?.socket else { continue }
                        try send(Self.query(batch), to: socket)
                        sent.append((index, batch))
                    }
                    for (index, batch) in sent {
                        guard var worker = state.workers[index] else { continue }
                        let symbols = try answers(for: batch, worker: &worker)
                        state.workers[index] = worker
                        for (location, symbol) in zip(batch, symbols) { state.cache[location] = symbol }
                    }
                }
            } catch {
                state.broken = error.description
                Self.stopAll(&state)
                throw error
            }
            return locations.map { state.cache[$0] ?? Symbol() }
        }
    }

    /// ``assign(_:in:)``, and for a module seen for the first time, a decompressed copy of its debug file for the
    /// next symbolizer processes when that helps.
    /// With `reserving`, a new module gets worker 0, which no later module shares.
    private func place(_ module: String, in state: inout State, reserving: Bool = false) -> Int {
        if state.assignment[module] == nil {
            if let copy = debugFileCache?.plannedCopy(for: module) { state.plannedCopies.insert(copy) }
            if reserving {
                state.reserved = 0
                state.assignment[module] = 0
                state.assigned[0] += 1
            }
        }
        return Self.assign(module, in: &state)
    }

    /// The worker for `module`: the one it was given before, else the one with the fewest modules, never the
    /// reserved one.
    private static func assign(_ module: String, in state: inout State) -> Int {
        if let index = state.assignment[module] { return index }
        var best: Int?
        for index in state.assigned.indices where index != state.reserved || state.assigned.count == 1 {
            if best.map({ state.assigned[index] < state.assigned[$0] }) ?? true { best = index }
        }
        let index = best ?? 0
        state.assignment[module] = index
        state.assigned[index] += 1
        return index
    }

    // MARK: the worker processes

    private func start() throws(ShakedownError) -> Worker {
        var sockets: [CInt] = [-1, -1]
        try syscall("socketpair") { socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0, &sockets) }
        // --inlines lists inlined frames innermost first and the physical function last; only the last is kept, so a
        // frame is named after the function that owns the code (what unwinding walked), with its line there.
        var arguments = [executablePath, "--inlines", "--functions=linkage", "--no-demangle", "--output-style=LLVM"]
        if let debugFileCache {
            // Giving directories replaces the default one, so the system directory is named again, after the copies.
            arguments += ["--debug-file-directory=" + debugFileCache.directory,
                          "--debug-file-directory=" + DebugFileCache.systemDebugDirectory]
        }
        // dup2 clears close-on-exec on the copies, so only stdin/stdout of the worker keep the socket; the worker
        // dies with this process (HelperSpawn) instead of lingering under pid 1 if shakedown is killed.
        let pid: pid_t
        do {
            pid = try HelperSpawn.start(executablePath, arguments: arguments, standardInput: sockets[1], standardOutput: sockets[1])
        } catch {
            close(sockets[1])
            close(sockets[0])
            throw error
        }
        close(sockets[1])
        return Worker(pid: pid, socket: sockets[0])
    }

    private static func stopAll(_ state: inout State) {
        var running: [Worker] = []
        for index in state.workers.indices {
            if let worker = state.workers[index].take() { running.append(worker) }
        }
        stop(running)
    }

    /// Ends and reaps the workers. Every answer asked for has been read (or the worker is wedged), so nothing is
    /// lost by SIGKILL, and it spares the milliseconds llvm-symbolizer spends freeing its caches on a clean exit.
    private static func stop(_ workers: [Worker]) {
        for worker in workers {
            close(worker.socket)
            kill(worker.pid, SIGKILL)
        }
        for worker in workers {
            var status: CInt = 0
            while waitpid(worker.pid, &status, 0) == -1 && errno == EINTR {}
        }
    }

    private static func query(_ batch: ArraySlice<Location>) -> [UInt8] {
        var query = ""
        for location in batch { query += "\"\(location.module)\" 0x\(String(location.offset, radix: 16))\n" }
        return Array(query.utf8)
    }

    private func answers(for batch: ArraySlice<Location>, worker: inout Worker) throws(ShakedownError) -> [Symbol] {
        let deadline = monotonicNanoseconds() + Self.answerTimeLimit
        while worker.pendingWarmUps > 0 {
            _ = try readAnswer(&worker, deadline: deadline)
            worker.pendingWarmUps -= 1
        }
        var symbols: [Symbol] = []
        for location in batch {
            symbols.append(Self.parse(try readAnswer(&worker, deadline: deadline), module: location.module))
        }
        return symbols
    }

    /// One answer: "function\nfile:line:column\n" per inlining level, then an empty line ("??" parts when
    /// unknown).
    private func readAnswer(_ worker: inout Worker, deadline: Int64) throws(ShakedownError) -> [String] {
        var lines: [String] = []
        while true {
            let line = try readLine(&worker, deadline: deadline)
            if line.isEmpty { return lines }
            lines.append(line)
        }
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

/// The crashing thread's frames from the Swift runtime backtracer's report ("*** Program crashed: … ***"), without
/// its register dump, image list and timing lines.
///
/// The backtracer (on by default on Linux) prints every thread's frames demangled with file:line:column, then
/// registers and an image list: a fixed-size output tail keeps that noise and loses the frames. ``parse(_:)`` reads
/// the report out of any text (a worker's captured standard error); ``condensed(_:)`` rewrites such text with the
/// report shrunk to the crash line and the crashing thread's frames. Pure functions over text: no process is run.
///
/// How a caller uses it (a worker report, an XCTest failure message):
/// ```swift
/// if let crash = CrashBacktrace.parse(standardError) {
///     message += crash.summary        // "crashed: Illegal instruction … in thread 1\n  #2 parseRecord(_:) at main.swift:14:9 …"
///     let top = crash.userFrames.first // the innermost frame in the program's own code, with file and line
/// }
/// let tail = CrashBacktrace.condensed(standardError)   // keep this instead of the raw tail
/// ```
package struct CrashBacktrace: Hashable, Sendable, Codable {
    /// One frame as the backtracer printed it.
    package struct Frame: Hashable, Sendable, Codable {
        /// The backtracer's frame number (0 is where the thread stopped).
        package var index: Int
        /// The address printed.
        package var address: UInt64
        /// The demangled function name, nil when the backtracer printed none.
        package var function: String?
        /// The image (executable or library) name.
        package var module: String?
        /// The source file, when known (not for `<compiler-generated>`).
        package var file: String?
        package var line: Int?
        package var column: Int?
        /// The backtracer's markers: `ra` (a return address), `inlined`, `thunk`, `system`, `async`.
        package var markers: [String]

        /// Whether the frame is in the program's own code: has a real source file, is not a thunk and is not in
        /// the Swift runtime or the C library.
        package var isUserCode: Bool {
            guard file != nil, !markers.contains("thunk"), !markers.contains("system") else { return false }
            let library = ["libswift", "libc.so", "libFoundation", "lib_Foundation", "libdispatch", "ld-linux"]
            return !(module.map { name in library.contains { name.hasPrefix($0) } } ?? false)
        }

        /// "parseRecord(_:) at main.swift:14:9 (crash-backtrace)".
        package var description: String {
            var text = "#\(index) " + (function ?? hex(address))
            if let file {
                text += " at \(file.split(separator: "/").last.map(String.init) ?? file)"
                if let line { text += ":\(line)" + (column.map { ":\($0)" } ?? "") }
            }
            if let module { text += " (\(module))" }
            return text
        }
    }

    /// "Illegal instruction at 0x00007f0401d6df7f", from the "*** Program crashed: … ***" line.
    package var reason: String
    /// The runtime's message before the report ("main.swift:14: Fatal error: Unexpectedly found nil …"), if any.
    package var fatalError: String?
    /// The crashing thread's number in the report, and its name when printed.
    package var thread: Int
    package var threadName: String?
    /// The crashing thread's frames, innermost first.
    package var frames: [Frame]
    /// Whether the backtracer left frames out ("..." lines).
    package var framesOmitted: Bool
    /// "Backtrace took 0.35s", in seconds.
    package var backtraceSeconds: Double?

    /// What the crash really means when the runtime's message misleads, nil otherwise. Swift's `Mutex` on Linux is
    /// a priority-inheritance futex: the kernel refuses a lock with EDEADLK both when the thread already holds it and
    /// when taking it would close a cycle of waiting threads (ABBA), and the runtime reports both as "Recursive call
    /// to lock Mutex".
    package var deadlockHint: String? {
        guard fatalError?.contains("Recursive call to lock Mutex") == true else { return nil }
        return "this may be a deadlock, not recursion: the kernel refused the Mutex (a PI futex) with EDEADLK, which it "
            + "also does when the lock would close a cycle of threads waiting for each other's Mutexes (lock-order "
            + "inversion); unless the frames show this thread locking the same Mutex twice, another thread holds it "
            + "and waits for one this thread holds"
    }

    /// The innermost user frames (see ``Frame/isUserCode``).
    package var userFrames: [Frame] { frames.filter(\.isUserCode) }

    /// The crash in a few lines: reason, fatal error message, then the frames from the first user frame's caller
    /// side up to `limit` (library frames above it folded into a count).
    package func summary(limit: Int = 8) -> String {
        var lines = ["crashed: \(reason) in thread \(thread)" + (threadName.map { " \"\($0)\"" } ?? "")]
        if let fatalError { lines.append("  " + fatalError) }
        if let deadlockHint { lines.append("  note: " + deadlockHint) }
        let firstUser = frames.firstIndex(where: \.isUserCode) ?? 0
        if firstUser > 0 { lines.append("  … \(firstUser) runtime frame\(firstUser == 1 ? "" : "s") above") }
        lines += frames[firstUser...].prefix(max(1, limit)).map { "  " + $0.description }
        return lines.joined(separator: "\n")
    }

    /// Finds the backtracer's report in `text` (anywhere: other output may come before and after) and reads the
    /// crashing thread. Nil when there is no "*** Program crashed" line. Never traps on malformed text.
    package static func parse(_ text: String) -> CrashBacktrace? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let crashLine = lines.firstIndex(where: { $0.hasPrefix("*** Program crashed: ") }) else { return nil }
        let reason = String(lines[crashLine].dropFirst("*** Program crashed: ".count))
            .replacingSuffix(" ***")
        let fatal = lines[..<crashLine].last(where: { $0.contains("Fatal error: ") || $0.contains("Precondition failed") })
            .map(String.init)
        var result = CrashBacktrace(reason: reason, fatalError: fatal, thread: 0, threadName: nil, frames: [],
                                    framesOmitted: false, backtraceSeconds: nil)
        var position = crashLine + 1
        // "Thread 1 crashed:" or 'Thread 0 "name" crashed:'
        while position < lines.count, !(lines[position].hasPrefix("Thread ") && lines[position].hasSuffix(" crashed:")) {
            position += 1
        }
        if position < lines.count {
            let header = lines[position].dropFirst("Thread ".count).dropLast(" crashed:".count)
            result.thread = Int(header.prefix(while: \.isNumber)) ?? 0
            if let open = header.firstIndex(of: "\""), let close = header.lastIndex(of: "\""), open < close {
                result.threadName = String(header[header.index(after: open)..<close])
            }
            position += 1
            while position < lines.count {
                let line = lines[position]
                if line.hasPrefix("Thread ") || line.hasPrefix("Registers:") || line.hasPrefix("Images") { break }
                if line.split(separator: " ") == ["..."] { result.framesOmitted = true }
                if let frame = Self.frame(line) { result.frames.append(frame) }
                position += 1
            }
        }
        if let took = lines.last(where: { $0.hasPrefix("Backtrace took ") }) {
            result.backtraceSeconds = Double(took.dropFirst("Backtrace took ".count).prefix(while: { $0 != "s" }))
        }
        return result
    }

    /// `text` with the backtracer's report replaced by ``summary(limit:)``: what a captured output tail should keep.
    /// Text without a report comes back unchanged.
    package static func condensed(_ text: String, limit: Int = 8) -> String {
        guard let crash = parse(text) else { return text }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // The report starts at "*** Signal N: Backtracing…" (or at the crash line) and ends after "Backtrace took".
        let crashLine = lines.firstIndex(where: { $0.hasPrefix("*** Program crashed: ") }) ?? 0
        let start = lines[..<crashLine].lastIndex(where: { $0.hasPrefix("*** Signal ") }) ?? crashLine
        let end = lines[crashLine...].firstIndex(where: { $0.hasPrefix("Backtrace took ") }).map { $0 + 1 } ?? lines.count
        let before = lines[..<start].joined(separator: "\n")
        let after = lines[end...].joined(separator: "\n")
        return [before, crash.summary(limit: limit), after].filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// "  2 [ra]         0x000055969cecc2a5 parseRecord(_:) + 164 in crash-backtrace at /path/main.swift:14:9"
    static func frame(_ line: Substring) -> Frame? {
        var rest = line.drop(while: { $0 == " " })
        let number = rest.prefix(while: \.isNumber)
        guard let index = Int(number) else { return nil }
        rest = rest.dropFirst(number.count).drop(while: { $0 == " " })
        var markers: [String] = []
        while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            markers.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...].drop(while: { $0 == " " })
        }
        guard rest.hasPrefix("0x") else { return nil }
        let digits = rest.dropFirst(2).prefix(while: \.isHexDigit)
        guard let address = UInt64(digits, radix: 16) else { return nil }
        rest = rest.dropFirst(2 + digits.count).drop(while: { $0 == " " })
        var frame = Frame(index: index, address: address, function: nil, module: nil, file: nil, line: nil, column: nil,
                          markers: markers)
        // Location first (from the right): " at FILE:LINE:COLUMN", then " in MODULE", then "FUNCTION + OFFSET".
        if let at = rest.lastRange(of: " at ") {
            let location = rest[at.upperBound...]
            rest = rest[..<at.lowerBound]
            let parts = location.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count >= 3, let line = Int(parts[parts.count - 2]), let column = Int(parts[parts.count - 1]) {
                frame.file = parts.dropLast(2).joined(separator: ":")
                frame.line = line
                frame.column = column
            } else if parts.count >= 2, let line = Int(parts[parts.count - 1]) {
                frame.file = parts.dropLast().joined(separator: ":")
                frame.line = line
            } else if !location.hasPrefix("//<") {
                frame.file = String(location)
            }
        }
        if let inModule = rest.lastRange(of: " in ") {
            frame.module = String(rest[inModule.upperBound...])
            rest = rest[..<inModule.lowerBound]
        }
        if let plus = rest.lastRange(of: " + "), rest[plus.upperBound...].allSatisfy(\.isNumber) {
            rest = rest[..<plus.lowerBound]
        }
        let function = String(rest)
        frame.function = function.isEmpty ? nil : function
        return frame
    }
}

extension StringProtocol {
    fileprivate func lastRange(of needle: String) -> Range<Index>? {
        var found: Range<Index>?
        var searchStart = startIndex
        while let range = self[searchStart...].firstRange(of: needle) {
            found = range
            searchStart = index(after: range.lowerBound)
        }
        return found
    }
}

extension String {
    fileprivate func replacingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

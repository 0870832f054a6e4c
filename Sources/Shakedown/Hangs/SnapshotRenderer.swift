/// Text renderings of snapshots and deadlock analyses, for terminals and test failure messages.
///
/// `.full` lists every kept frame of every thread, like `py-spy dump`. `.compact` leads each thread with where
/// it is stuck — the innermost frame in the program's own code — and then shows at most `framesPerThread` frames
/// from there outwards, folding the library frames above it (futex, mutex, read wrappers) into one line.
public struct SnapshotRenderer: Sendable {
    /// How much of each stack to show.
    public enum Style: Sendable, Hashable {
        case compact(framesPerThread: Int)
        case full
    }

    /// The style used by every `render` call.
    public var style: Style

    /// A renderer; compact with 6 frames per thread unless told otherwise.
    public init(style: Style = .compact(framesPerThread: 6)) { self.style = style }

    /// Renders one process: a header, its notes, its threads, the mutexes it maps.
    public func render(_ snapshot: ProcessSnapshot, labels: [Int32: String] = [:]) -> String {
        var lines: [String] = []
        let command = snapshot.commandLine.isEmpty ? (snapshot.executable ?? "?") : snapshot.commandLine.joined(separator: " ")
        let label = labels[snapshot.pid].map { " [\($0)]" } ?? ""
        lines.append("Process \(snapshot.pid)\(label): \(command)")
        let milliseconds = Double(snapshot.captureDuration.nanoseconds) / 1_000_000
        lines.append("  state \(snapshot.state), \(snapshot.threads.count) thread\(snapshot.threads.count == 1 ? "" : "s"), "
            + "captured in \(Self.format(milliseconds)) ms"
            + (snapshot.stoppedDuration > .zero
                ? " (stopped for \(Self.format(Double(snapshot.stoppedDuration.nanoseconds) / 1_000_000)) ms)" : ""))
        for note in snapshot.notes { lines.append("  note: \(note)") }
        for thread in snapshot.threads {
            lines.append("")
            lines += render(thread)
        }
        if !snapshot.mutexes.isEmpty {
            lines.append("")
            lines.append("Shakedown mutexes mapped:")
            for mutex in snapshot.mutexes { lines.append("  " + Self.describe(mutex, labels: labels)) }
        }
        return lines.joined(separator: "\n")
    }

    /// Renders several processes and, when it found anything, their deadlock analysis first.
    public func render(_ snapshots: [ProcessSnapshot], analysis: DeadlockAnalysis?, labels: [Int32: String] = [:]) -> String {
        var parts: [String] = []
        if let analysis, !analysis.deadlocks.isEmpty || !analysis.abandonedMutexes.isEmpty || !analysis.ownerGone.isEmpty {
            parts.append(analysis.explanation)
        }
        parts += snapshots.map { render($0, labels: labels) }
        return parts.joined(separator: "\n\n")
    }

    func render(_ thread: ThreadSnapshot) -> [String] {
        var header = "Thread \(thread.tid) \"\(thread.name)\" \(thread.state.rawValue) (\(thread.state.meaning))"
        if let call = thread.systemCall { header += ", in \(call.description)" }
        if let wchan = thread.wchan { header += ", kernel wait \(wchan)" }
        var lines = [header]
        if let wait = thread.waitsFor { lines.append("  " + Self.describe(wait)) }
        var shown = thread.frames
        switch style {
        case .full:
            break
        case let .compact(limit):
            if let user = thread.frames.firstIndex(where: \.isUserCode), user > 0 {
                let folded = thread.frames[..<user].map { $0.function ?? hex($0.address) }
                lines.append("    … \(user) library frame\(user == 1 ? "" : "s"): " + folded.joined(separator: " ← "))
                shown = Array(thread.frames[user...])
            }
            if let user = thread.firstUserFrame {
                lines.insert("  stuck in \(user.shortDescription)", at: 1)
            }
            shown = Array(shown.prefix(max(1, limit)))
        }
        for frame in shown { lines.append("    " + Self.describe(frame)) }
        let hidden = thread.frames.count - (shown.last.map { $0.index + 1 } ?? 0)
        if hidden > 0 { lines.append("    … \(hidden) more frame\(hidden == 1 ? "" : "s")") }
        if thread.framesCut > 0 { lines.append("    (\(thread.framesCut) frames beyond the frame limit were not kept)") }
        if let reason = thread.unwindStopReason { lines.append("    ! \(reason)") }
        return lines
    }

    static func describe(_ frame: Frame) -> String {
        var text = "#\(frame.index) ".padding(to: 5) + hex(frame.address, width: 12) + " " + (frame.function ?? "??")
        if let file = frame.file { text += " at \(file)" + (frame.line.map { ":\($0)" } ?? "") }
        if let module = frame.moduleName {
            text += " (\(module)" + (frame.offset.map { "+" + hex($0) } ?? "") + ")"
        }
        return text
    }

    /// "waits for pthread mutex `ledger` held by pid 4711 / thread 4712", or why no holder is named.
    static func describe(_ wait: LockWait) -> String {
        var text = (wait.kind == .futexWait ? "sleeps on " : "waits for ") + wait.name
        let holders = wait.owners.map { owner -> String in
            switch owner {
            case let .thread(id): return "\(id)"
            case let .process(pid): return "pid \(pid)"
            case let .gone(tid): return "thread \(tid), which no longer exists (owner gone)"
            }
        }
        if !holders.isEmpty { text += " held by " + holders.joined(separator: ", ") }
        if let detail = wait.detail { text += " (\(detail))" }
        return text
    }

    static func describe(_ mutex: MutexSnapshot, labels: [Int32: String]) -> String {
        var text = "`\(mutex.name)` "
        if let owner = mutex.owner {
            text += "held by \(DeadlockAnalysis.label(owner, labels))"
            if mutex.ownerIsAlive == false { text += " (DEAD)" }
        } else {
            text += "unlocked"
        }
        if !mutex.waiters.isEmpty {
            text += "; waiting: " + mutex.waiters.map { DeadlockAnalysis.label($0, labels) }.joined(separator: ", ")
        }
        text += "; \(mutex.acquisitions) acquisitions"
        if mutex.ownerDiedCount > 0 { text += ", owner died \(mutex.ownerDiedCount)×" }
        return text
    }

    static func format(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)"
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

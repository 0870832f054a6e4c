#if canImport(Glibc)
import Glibc
#endif

/// Says when a stuck worker is most likely waiting for Dispatch's global queues, which do not run after fork.
///
/// Dispatch starts its worker threads (named after their root queue: `com.apple.root.default-qos` and the
/// like, cut to 15 characters in `comm`) on first use and keeps their count in its own bookkeeping. Fork copies
/// that bookkeeping but none of the threads, so in a worker forked from a test process with idle Dispatch
/// threads the queue wakes a thread that does not exist there and work sent to `DispatchQueue.global()` never
/// runs (measured on these machines, HostileAsyncTests: a continuation resumed from `DispatchQueue.global().async`
/// and a `DispatchSemaphore` signalled from it both hang; with a parent that never used Dispatch, or whose Dispatch
/// threads were all busy, they do not). The worker cannot be fixed from outside; the report can say why it
/// hangs. The test process's threads are looked at when the hang is captured: idle Dispatch threads that retired
/// since the fork (after a few seconds) are missed, and then the note is not given.
///
/// Cost: reading `comm` of every thread of the test process and of the stuck worker's snapshot, at the deadline
/// only.
enum DispatchAfterFork {
    /// A note for a stuck `worker` when the test process runs Dispatch worker threads and the worker runs none
    /// (it never got its own), or nil.
    static func note(worker: ProcessSnapshot) -> String? {
        let parentThreads = dispatchThreadNames(of: getpid())
        guard !parentThreads.isEmpty, !worker.threads.contains(where: { isDispatchWorker($0.name) }) else { return nil }
        let example = parentThreads.first.map { " (\"\($0)\")" } ?? ""
        return "the test process runs \(parentThreads.count) Dispatch worker thread\(parentThreads.count == 1 ? "" : "s")"
            + "\(example) and this worker none: fork copies Dispatch's bookkeeping but not its threads, so work the "
            + "worker sends to DispatchQueue.global() never runs; in a worker use a Task (it runs on Shakedown's "
            + "executor) or a thread of its own"
    }

    /// Whether a thread name (`comm`, at most 15 characters) is one Dispatch gives its global-queue threads.
    static func isDispatchWorker(_ name: String) -> Bool {
        name.hasSuffix("-qos") || name.hasSuffix("qos.overcommit") || name.contains("root.")
    }

    /// The `comm` of each thread of `pid` that is a Dispatch worker thread.
    static func dispatchThreadNames(of pid: Int32) -> [String] {
        guard let directory = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let number = Int32(tid),
                  let comm = ProcessTable.readSmallFile("/proc/\(pid)/task/\(number)/comm") else { continue }
            let name = comm.hasSuffix("\n") ? String(comm.dropLast()) : comm
            if isDispatchWorker(name) { names.append(name) }
        }
        return names
    }
}

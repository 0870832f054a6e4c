/// The descendants of processes, read from /proc (every process's parent, field 4 of /proc/PID/stat).
///
/// A full scan, not /proc/PID/task/TID/children: that file exists only with CONFIG_PROC_CHILDREN, and it misses
/// nothing a scan would catch. Costs about 1–2 ms per thousand processes.
public enum ProcessTree {
    /// `roots` followed by all their descendants (children, grandchildren, …), each once, parents before
    /// children. Processes that exit during the scan are left out; a pid that is not a process is kept as given
    /// (capture reports it).
    public static func withDescendants(_ roots: [Int32]) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for pid in (try? ProcFiles.numericEntries("/proc")) ?? [] {
            guard let parent = ProcStat.read(pid: pid)?.parent else { continue }
            children[parent, default: []].append(pid)
        }
        var result: [Int32] = []
        var seen = Set<Int32>()
        var queue = roots
        var position = 0
        while position < queue.count {
            let pid = queue[position]
            position += 1
            guard seen.insert(pid).inserted else { continue }
            result.append(pid)
            queue += (children[pid] ?? []).sorted()
        }
        return result
    }
}

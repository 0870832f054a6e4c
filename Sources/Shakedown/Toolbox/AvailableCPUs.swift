#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// How many CPUs this process may really use: the default size of a ``ProcessPool``.
///
/// The smallest of: the CPUs in the affinity mask (`sched_getaffinity`, what `taskset` and container cpusets
/// restrict), and the cgroup CPU quota rounded up (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` /
/// `cpu.cfs_period_us`), checked for this process's cgroup and each ancestor. At least 1. Cost: a few small
/// file reads.
public enum AvailableCPUs {
    /// The usable CPU count now.
    public static var count: Int {
        var result = max(1, Int(shakedown_affinity_cpu_count()))
        if result <= 0 { result = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
        if let quota = cgroupQuota() { result = min(result, quota) }
        return max(1, result)
    }

    /// The tightest CPU quota over this process's cgroups (v2 and v1 `cpu`), in whole CPUs rounded up.
    static func cgroupQuota() -> Int? {
        guard let text = ProcessTable.readSmallFile("/proc/self/cgroup") else { return nil }
        var quotas: [Int] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[0] == "0" && fields[1].isEmpty {
                for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
                    quotas += walk(root: root, path: path) { directory in
                        parseCPUMax(ProcessTable.readSmallFile(directory + "/cpu.max"))
                    }
                }
            } else if fields[1].split(separator: ",").contains("cpu") {
                for root in ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"] {
                    quotas += walk(root: root, path: path) { directory in
                        guard let quota = ProcessTable.readSmallFile(directory + "/cpu.cfs_quota_us").flatMap({ Int64(Substring($0).trimmingCharacters) }),
                              let period = ProcessTable.readSmallFile(directory + "/cpu.cfs_period_us").flatMap({ Int64(Substring($0).trimmingCharacters) })
                        else { return nil }
                        return wholeCPUs(quota: quota, period: period)
                    }
                }
            }
        }
        return quotas.min()
    }

    /// Quotas found at `root + path` and each ancestor up to `root`.
    private static func walk(root: String, path: String, _ read: (String) -> Int?) -> [Int] {
        var components = path.split(separator: "/").map(String.init)
        var found: [Int] = []
        while true {
            let directory = root + (components.isEmpty ? "" : "/" + components.joined(separator: "/"))
            if let quota = read(directory) { found.append(quota) }
            if components.isEmpty { return found }
            components.removeLast()
        }
    }

    /// `"max 100000"` → nil; `"150000 100000"` → 2.
    static func parseCPUMax(_ text: String?) -> Int? {
        guard let fields = text.map({ Substring($0).trimmingCharacters })?.split(separator: " "), fields.count == 2,
              let quota = Int64(fields[0]), let period = Int64(fields[1]) else { return nil }
        return wholeCPUs(quota: quota, period: period)
    }

    private static func wholeCPUs(quota: Int64, period: Int64) -> Int? {
        guard quota > 0, period > 0 else { return nil }
        return Int(max(1, (quota + period - 1) / period))
    }
}

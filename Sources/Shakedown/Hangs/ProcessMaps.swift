#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One line of /proc/PID/maps.
struct MemoryMapping: Hashable, Sendable {
    var start: UInt64
    var end: UInt64
    var permissions: String
    /// Offset into the mapped file.
    var fileOffset: UInt64
    /// "major:minor" in hex, as /proc prints it.
    var device: String
    var inode: UInt64
    /// The path, "[stack]"/"[vdso]"/…, or empty for anonymous memory; " (deleted)" is kept.
    var path: String

    var isExecutable: Bool { permissions.contains("x") }

    /// Parses "start-end perms offset dev inode   path".
    init?(_ line: Substring) {
        var fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5 else { return nil }
        let range = fields[0].split(separator: "-")
        guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
              let offset = UInt64(fields[2], radix: 16), let inode = UInt64(fields[4])
        else { return nil }
        self.start = start
        self.end = end
        permissions = String(fields[1])
        fileOffset = offset
        device = String(fields[3])
        self.inode = inode
        if fields.count == 6 {
            fields[5] = fields[5].drop(while: { $0 == " " })
            path = String(fields[5])
        } else {
            path = ""
        }
    }
}

/// The memory map of a process, read once, with lookups from an address to its module and ELF address.
struct ProcessMaps: Sendable {
    let mappings: [MemoryMapping]

    init(mappings: [MemoryMapping]) { self.mappings = mappings.sorted { $0.start < $1.start } }

    /// Reads /proc/PID/maps. The cost is one read of a few kilobytes.
    static func read(pid: Int32) throws(ShakedownError) -> ProcessMaps {
        let bytes = try ProcFiles.read("/proc/\(pid)/maps")
        let text = String(decoding: bytes, as: UTF8.self)
        return ProcessMaps(mappings: text.split(separator: "\n").compactMap(MemoryMapping.init))
    }

    /// The mapping that contains `address`, by binary search.
    func mapping(containing address: UInt64) -> MemoryMapping? {
        var low = 0, high = mappings.count
        while low < high {
            let middle = (low + high) / 2
            if mappings[middle].end <= address { low = middle + 1 } else { high = middle }
        }
        guard low < mappings.count, mappings[low].start <= address else { return nil }
        return mappings[low]
    }
}

/// The PT_LOAD segments of an ELF file: what turns a runtime address into the address the file's symbol
/// tables and debug information use.
struct ELFLayout: Sendable {
    struct Segment: Sendable { var fileOffset: UInt64; var virtualAddress: UInt64; var memorySize: UInt64 }
    let segments: [Segment]

    /// Reads the program headers of `path` (64-bit little-endian only); nil if it is not an ELF file.
    init?(path: String) {
        guard let headers = ELFFile.programHeaders(path: path) else { return nil }
        segments = headers.filter { $0.type == 1 }.map {  // PT_LOAD
            Segment(fileOffset: $0.fileOffset, virtualAddress: $0.virtualAddress, memorySize: $0.memorySize)
        }
    }

    /// The ELF virtual address of runtime `address`, which lies in `mapping` of this file.
    ///
    /// A mapping covers the page-aligned part of one segment. Linkers such as lld place a segment at a virtual
    /// address that differs from its file offset, and two segments may share a file page, so the segment is the
    /// one whose address range contains the translated address.
    func fileAddress(of address: UInt64, in mapping: MemoryMapping, pageSize: UInt64) -> UInt64? {
        let mask = ~(pageSize - 1)
        for segment in segments where segment.fileOffset & mask == mapping.fileOffset {
            let translated = address - mapping.start + (segment.virtualAddress & mask)
            if translated >= segment.virtualAddress & mask, translated < segment.virtualAddress + segment.memorySize {
                return translated
            }
        }
        return nil
    }
}

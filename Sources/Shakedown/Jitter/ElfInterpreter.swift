#if canImport(Glibc)
import Glibc
#endif

/// Whether an executable is started by the dynamic loader (has a PT_INTERP program header). Only such executables
/// honour `LD_PRELOAD`, so only they get the preload library's preemption.
package enum ElfInterpreter {
    /// True for a readable 64-bit ELF executable without PT_INTERP (statically linked); false otherwise, including for
    /// scripts (their interpreter is what runs) and files that cannot be read (the exec will say why).
    package static func isStaticallyLinked(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 64)
        guard pread(fd, &header, 64, 0) == 64, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C,
              header[3] == 0x46, header[4] == 2 /* ELFCLASS64 */, header[5] == 1 /* little-endian */
        else { return false }
        func little(_ offset: Int, _ count: Int) -> UInt64 {
            (0..<count).reduce(0) { $0 | UInt64(header[offset + $1]) << (8 * UInt64($1)) }
        }
        let tableOffset = little(0x20, 8), entrySize = Int(little(0x36, 2)), entries = Int(little(0x38, 2))
        guard entrySize >= 4, entries > 0, entries < 4096, tableOffset < UInt64(Int.max) else { return false }
        var table = [UInt8](repeating: 0, count: entrySize * entries)
        guard pread(fd, &table, table.count, off_t(tableOffset)) == table.count else { return false }
        for entry in 0..<entries {
            let base = entry * entrySize
            let type = UInt32(table[base]) | UInt32(table[base + 1]) << 8 | UInt32(table[base + 2]) << 16
                | UInt32(table[base + 3]) << 24
            if type == 3 /* PT_INTERP */ { return false }
        }
        return true
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Just enough ELF reading for hang reports (64-bit little-endian files only): build ids and compressed sections for
/// ``DebugFileCache``, PT_LOAD segments for ``ELFLayout``.
enum ELFFile {
    /// The GNU build id of the ELF file at `path`, in lowercase hex; nil if it has none.
    static func buildID(path: String) -> String? {
        guard let file = Header(path: path) else { return nil }
        defer { close(file.descriptor) }
        // PT_NOTE segments hold notes; NT_GNU_BUILD_ID (3) with owner "GNU" is the build id.
        for index in 0..<file.programHeaderCount {
            guard let entry = file.read(at: file.programHeaderOffset + UInt64(index * file.programHeaderSize), count: 56),
                  load(UInt32.self, entry, 0) == 4
            else { continue }
            let offset = load(UInt64.self, entry, 8), size = load(UInt64.self, entry, 32)
            guard size < 65_536, let notes = file.read(at: offset, count: Int(size)) else { continue }
            var position = 0
            while position + 12 <= notes.count {
                let nameSize = Int(load(UInt32.self, notes, position))
                let descriptionSize = Int(load(UInt32.self, notes, position + 4))
                let type = load(UInt32.self, notes, position + 8)
                let nameStart = position + 12
                let descriptionStart = nameStart + (nameSize + 3) & ~3
                let end = descriptionStart + (descriptionSize + 3) & ~3
                guard descriptionStart + descriptionSize <= notes.count else { break }
                if type == 3, nameSize == 4, notes[nameStart..<nameStart + 3].elementsEqual("GNU".utf8) {
                    return notes[descriptionStart..<descriptionStart + descriptionSize]
                        .map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                }
                position = end
            }
        }
        return nil
    }

    /// Whether any section of the ELF file at `path` is compressed (SHF_COMPRESSED).
    static func hasCompressedSections(path: String) -> Bool {
        guard let file = Header(path: path) else { return false }
        defer { close(file.descriptor) }
        guard file.sectionHeaderSize >= 64, file.sectionHeaderCount < 65_536,
              let table = file.read(at: file.sectionHeaderOffset, count: file.sectionHeaderSize * file.sectionHeaderCount)
        else { return false }
        return (0..<file.sectionHeaderCount).contains { load(UInt64.self, table, $0 * file.sectionHeaderSize + 8) & 0x800 != 0 }
    }

    /// `(type, file offset, virtual address, memory size)` of each program header of the ELF file at `path`.
    static func programHeaders(path: String) -> [(type: UInt32, fileOffset: UInt64, virtualAddress: UInt64, memorySize: UInt64)]? {
        guard let file = Header(path: path) else { return nil }
        defer { close(file.descriptor) }
        guard file.programHeaderCount > 0, file.programHeaderCount < 4096,
              let table = file.read(at: file.programHeaderOffset, count: file.programHeaderSize * file.programHeaderCount)
        else { return nil }
        return (0..<file.programHeaderCount).map { index in
            let base = index * file.programHeaderSize
            return (load(UInt32.self, table, base), load(UInt64.self, table, base + 8),
                    load(UInt64.self, table, base + 16), load(UInt64.self, table, base + 40))
        }
    }

    /// The data object (STT_OBJECT) whose range contains ELF address `address`, from `.symtab` (or `.dynsym` when
    /// stripped); nil when none does. Reads the symbol table once per call: for naming a handful of locks.
    static func objectSymbol(path: String, containing address: UInt64) -> String? {
        guard let file = Header(path: path) else { return nil }
        defer { close(file.descriptor) }
        guard file.sectionHeaderSize >= 64, file.sectionHeaderCount > 0, file.sectionHeaderCount < 65_536,
              let table = file.read(at: file.sectionHeaderOffset, count: file.sectionHeaderSize * file.sectionHeaderCount)
        else { return nil }
        func section(_ index: Int) -> (type: UInt32, offset: UInt64, size: UInt64, link: Int) {
            let base = index * file.sectionHeaderSize
            return (load(UInt32.self, table, base + 4), load(UInt64.self, table, base + 24), load(UInt64.self, table, base + 32),
                    Int(load(UInt32.self, table, base + 40)))
        }
        for wanted in [UInt32(2), 11] {  // SHT_SYMTAB, then SHT_DYNSYM
            guard let index = (0..<file.sectionHeaderCount).first(where: { section($0).type == wanted }) else { continue }
            let symbols = section(index)
            guard symbols.link < file.sectionHeaderCount, symbols.size < 256 << 20,
                  let entries = file.read(at: symbols.offset, count: Int(symbols.size))
            else { continue }
            let strings = section(symbols.link)
            for start in stride(from: 0, to: entries.count - 23, by: 24) {
                let info = entries[start + 4], value = load(UInt64.self, entries, start + 8)
                let size = load(UInt64.self, entries, start + 16)
                guard info & 0xF == 1, value <= address, address < value &+ max(size, 1) else { continue }
                let nameOffset = UInt64(load(UInt32.self, entries, start))
                guard nameOffset < strings.size,
                      let bytes = file.read(at: strings.offset + nameOffset, count: Int(min(512, strings.size - nameOffset)))
                else { return nil }
                return String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        return nil
    }

    private struct Header {
        let descriptor: CInt
        let programHeaderOffset: UInt64
        let programHeaderSize: Int
        let programHeaderCount: Int
        let sectionHeaderOffset: UInt64
        let sectionHeaderSize: Int
        let sectionHeaderCount: Int

        init?(path: String) {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            var header = [UInt8](repeating: 0, count: 64)
            guard pread(descriptor, &header, 64, 0) == 64, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C,
                  header[3] == 0x46, header[4] == 2, header[5] == 1
            else {
                close(descriptor)
                return nil
            }
            self.descriptor = descriptor
            programHeaderOffset = load(UInt64.self, header, 0x20)
            sectionHeaderOffset = load(UInt64.self, header, 0x28)
            programHeaderSize = max(56, Int(load(UInt16.self, header, 0x36)))
            programHeaderCount = Int(load(UInt16.self, header, 0x38))
            sectionHeaderSize = Int(load(UInt16.self, header, 0x3A))
            sectionHeaderCount = Int(load(UInt16.self, header, 0x3C))
        }

        func read(at offset: UInt64, count: Int) -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: count)
            guard count > 0, pread(descriptor, &bytes, count, off_t(offset)) == count else { return nil }
            return bytes
        }
    }

    private static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
        var value: T = 0
        for index in (0..<MemoryLayout<T>.size).reversed() { value = value << 8 | T(bytes[offset + index]) }
        return value
    }
}

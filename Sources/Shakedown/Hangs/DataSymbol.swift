/// Names a lock that lives in a global variable after its symbol (`ledger`, `pthread_abba.ledger`), from the ELF
/// symbol table of the module whose image contains the address (globals in `.data` and `.bss` alike).
enum DataSymbol {
    /// The demangled name of the global object containing `address`, or nil (heap, stack, stripped module).
    /// Costs reading the module's program headers and symbol table once per call.
    static func name(of address: UInt64, maps: ProcessMaps) -> String? {
        guard let (path, elfAddress) = elfAddress(of: address, maps: maps),
              let symbol = ELFFile.objectSymbol(path: path, containing: elfAddress)
        else { return nil }
        let demangled = Demangler.demangle(symbol)
        // "pthread_abba.ledger : __C.pthread_mutex_t" → "pthread_abba.ledger"
        if let colon = demangled.firstRange(of: " : ") { return String(demangled[..<colon.lowerBound]) }
        return demangled
    }

    /// The module image (its PT_LOAD span, `.bss` included, which is anonymous memory in the map) holding `address`,
    /// and the address as the module's ELF file numbers it.
    static func elfAddress(of address: UInt64, maps: ProcessMaps) -> (String, UInt64)? {
        // The module loaded at the highest base at or below the address is the only candidate.
        let bases = maps.mappings.filter { $0.fileOffset == 0 && $0.path.hasPrefix("/") && $0.start <= address }
        guard let candidate = bases.max(by: { $0.start < $1.start }),
              let headers = ELFFile.programHeaders(path: candidate.path)
        else { return nil }
        let loads = headers.filter { $0.type == 1 }
        guard let first = loads.first else { return nil }
        let base = candidate.start &- (first.virtualAddress & ~UInt64(0xFFF))
        let elf = address &- base
        guard loads.contains(where: { elf >= $0.virtualAddress && elf < $0.virtualAddress &+ $0.memorySize }) else { return nil }
        return (candidate.path, elf)
    }
}

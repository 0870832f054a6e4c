/// One frame of a captured thread's stack, innermost first.
///
/// `module`, `offset`, `function`, `file` and `line` are nil when they could not be found: a frame in
/// anonymous memory (JIT code, a corrupt stack) has only an address.
public struct Frame: Hashable, Sendable, Codable {
    /// Position in the stack; 0 is where the thread is stopped.
    public var index: Int
    /// The return address (for frame 0, the instruction pointer) in the target's address space.
    public var address: UInt64
    /// The file the address belongs to (executable or shared library), from /proc/PID/maps.
    public var module: String?
    /// The address inside `module` as its ELF file numbers it: what `llvm-symbolizer -e MODULE` and
    /// `addr2line -e MODULE` expect.
    public var offset: UInt64?
    /// The function, demangled (Swift and C++); plain C names as they are.
    public var function: String?
    /// The function's linkage (mangled) name, when it differs from `function`.
    public var symbol: String?
    /// The source file, when the module has debug information.
    public var file: String?
    /// The source line, when the module has debug information.
    public var line: Int?

    /// A frame as capture builds it (public for tools that assemble snapshots of their own).
    public init(
        index: Int, address: UInt64, module: String? = nil, offset: UInt64? = nil, function: String? = nil,
        symbol: String? = nil, file: String? = nil, line: Int? = nil
    ) {
        self.index = index
        self.address = address
        self.module = module
        self.offset = offset
        self.function = function
        self.symbol = symbol
        self.file = file
        self.line = line
    }

    /// The last path component of `module`.
    public var moduleName: String? {
        module.map { path in path.split(separator: "/").last.map(String.init) ?? path }
    }

    /// Whether the frame is in the program itself rather than in the C library, the Swift runtime, Foundation,
    /// Dispatch, the dynamic loader or the vDSO. The Shakedown C shim and the `_start` entry stub count as library code.
    public var isUserCode: Bool {
        guard let module else { return false }
        // Shakedown's own frames (its C shim, and its Swift API linked into the program) are where it waits for the
        // user, not where the user is stuck.
        if let function, function.hasPrefix("shakedown_") || function.hasPrefix("Shakedown.") || function == "_start" {
            return false
        }
        let name = moduleName ?? module
        let libraryPrefixes = [
            "libc.so", "libc-", "libpthread", "ld-linux", "libm.so", "libstdc++", "libgcc_s", "libswift", "libFoundation",
            "lib_Foundation", "libdispatch", "libBlocksRuntime", "libunwind", "libXCTest", "libTesting", "[vdso]",
        ]
        if libraryPrefixes.contains(where: { name.hasPrefix($0) }) { return false }
        return !module.hasPrefix("[")
    }

    /// "function file:line" or the best that is known.
    public var shortDescription: String {
        var text = function ?? (offset.map { "\(moduleName ?? "?")+0x\(String($0, radix: 16))" } ?? hex(address))
        if let file {
            let fileName = file.split(separator: "/").last.map(String.init) ?? file
            text += " at \(fileName)" + (line.map { ":\($0)" } ?? "")
        }
        return text
    }
}

func hex(_ value: UInt64, width: Int = 0) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
}

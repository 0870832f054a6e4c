#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Synchronization

/// A block of memory that every process forked after its creation sees at the same address, backed by a memfd.
///
/// Writes from one process are visible to all others (it is `MAP_SHARED`); this is where counters, mutexes,
/// barriers and values that cross `fork()` live. Objects are placed with a bump allocator and never freed
/// individually; the memory goes away when the last process unmaps it.
///
/// Costs one `memfd_create`, `ftruncate` and `mmap` (a few microseconds); pages are touched lazily. The memfd
/// name shows in `/proc/PID/maps` as `/memfd:NAME (deleted)`, which is how `shakedown diagnose` finds
/// Shakedown mutexes inside a frozen process.
public final class SharedRegion: @unchecked Sendable {
    /// The first byte of the mapping.
    public let base: UnsafeMutableRawPointer
    /// The mapping's size in bytes (a whole number of pages).
    public let size: Int
    /// The memfd behind the mapping (close-on-exec); cooperative commands get a duplicate.
    package let descriptor: CInt
    private let nextOffset = Mutex(0)

    /// Creates and maps a zero-filled shared region of at least `size` bytes.
    ///
    /// - Throws: ``ShakedownError`` `.invalidArgument` when `size` is not positive or above
    ///   ``maximumSize``, or `.systemCall` naming `memfd_create`, `ftruncate` or `mmap` when the kernel refuses.
    public init(size: Int, name: String = "shakedown-region") throws(ShakedownError) {
        // Checked before rounding up to pages: a size near Int.max would overflow that arithmetic and trap.
        guard size > 0, size <= Self.maximumSize else {
            throw .invalidArgument("size", "must be between 1 and \(Self.maximumSize) bytes, got \(size)")
        }
        let pageSize = max(1, Int(sysconf(Int32(_SC_PAGESIZE))))
        let rounded = (size + pageSize - 1) / pageSize * pageSize
        let fd = try syscall("memfd_create") { shakedown_memfd_create(name) }
        do throws(ShakedownError) {
            try syscall("ftruncate") { ftruncate(fd, off_t(rounded)) }
            self.base = try Self.map(fd, size: rounded)
        } catch {
            close(fd)
            throw error
        }
        self.size = rounded
        self.descriptor = fd
    }

    /// Maps an inherited region descriptor (a cooperative command attaching to its run).
    package init(attaching fd: CInt) throws(ShakedownError) {
        var status = stat()
        try syscall("fstat") { fstat(fd, &status) }
        guard status.st_size > 0 else {
            throw ShakedownError(.malformedData(source: "descriptor \(fd)", reason: "empty shared region"))
        }
        self.size = Int(status.st_size)
        self.base = try Self.map(fd, size: Int(status.st_size))
        self.descriptor = fd
        // Everything in an attached region was placed by its creator.
        nextOffset.withLock { $0 = size }
    }

    /// The largest region this type creates: 1 TiB, far above any machine's memory (pages are touched lazily,
    /// so a big region costs address space, not RAM) and far below where size arithmetic could overflow.
    public static let maximumSize = 1 << 40

    private static func map(_ fd: CInt, size: Int) throws(ShakedownError) -> UnsafeMutableRawPointer {
        guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
              address != MAP_FAILED
        else { throw .systemCall("mmap") }
        return address
    }

    deinit {
        munmap(base, size)
        close(descriptor)
    }

    /// Reserves `byteCount` bytes aligned to `alignment` and returns their address (zero-filled).
    ///
    /// Place objects before forking: a later allocation in one process is not seen by the others' allocators.
    /// - Throws: `.invalidArgument("alignment")` unless it is a power of two from 1 to 65536;
    ///   `.invalidArgument("byteCount")` when it is negative or the region is full.
    public func allocate(byteCount: Int, alignment: Int = 16) throws(ShakedownError) -> UnsafeMutableRawPointer {
        // A zero alignment used to divide by zero, and a byteCount near Int.max to overflow: both trapped.
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 16 else {
            throw .invalidArgument("alignment", "must be a power of two between 1 and 65536, got \(alignment)")
        }
        guard byteCount >= 0 else { throw .invalidArgument("byteCount", "must not be negative, got \(byteCount)") }
        let offset: Int? = nextOffset.withLock { next in
            let start = (next + alignment - 1) / alignment * alignment
            // Compared as "what is left" rather than start + byteCount, which could overflow.
            guard start <= size, byteCount <= size - start else { return nil }
            next = start + byteCount
            return start
        }
        guard let offset else {
            throw .invalidArgument("byteCount", "\(byteCount) bytes do not fit in the \(size)-byte region")
        }
        return base + offset
    }

    /// The bytes still free for ``allocate(byteCount:alignment:)``.
    public var bytesAvailable: Int { size - nextOffset.withLock { $0 } }
}

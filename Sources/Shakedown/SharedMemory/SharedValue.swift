/// A single value of a plain type (`Int`, `Double`, a struct of them) in shared memory: the `Value` of
/// classic multiprocessing.
///
/// Reads and writes are plain memory accesses, not atomic: guard them with a ``ProcessMutex`` when several
/// processes write, or use ``SharedCounter`` for a counter. Costs one page for its own region.
public final class SharedValue<Element: BitwiseCopyable>: @unchecked Sendable {
    private let region: SharedRegion?
    private let storage: UnsafeMutablePointer<Element>

    /// Creates the value in a region of its own, or inside `region` when given (it must outlive the value).
    public init(_ initial: Element, in region: SharedRegion? = nil) throws(ShakedownError) {
        let owner: SharedRegion
        if let region { owner = region } else { owner = try SharedRegion(size: MemoryLayout<Element>.stride, name: "shakedown-value") }
        storage = try owner.allocate(byteCount: MemoryLayout<Element>.stride, alignment: MemoryLayout<Element>.alignment)
            .bindMemory(to: Element.self, capacity: 1)
        storage.initialize(to: initial)
        self.region = owner
    }

    /// The current value (a plain read or write of shared memory).
    public var value: Element {
        get { storage.pointee }
        set { storage.pointee = newValue }
    }
}

/// A fixed-size array of a plain type in shared memory: the `Array` of classic multiprocessing.
///
/// Elements are plain memory, not atomic; guard concurrent writers with a ``ProcessMutex``. Costs
/// `count * stride` bytes rounded up to pages.
public final class SharedArray<Element: BitwiseCopyable>: @unchecked Sendable, RandomAccessCollection, MutableCollection {
    private let region: SharedRegion?
    private let storage: UnsafeMutablePointer<Element>
    /// The number of elements, fixed at creation.
    public let count: Int

    /// Creates `count` elements, each set to `initial`.
    /// - Throws: `.invalidArgument("count")` when it is not positive or the array would exceed
    ///   ``SharedRegion/maximumSize``; what ``SharedRegion`` throws.
    public init(repeating initial: Element, count: Int, in region: SharedRegion? = nil) throws(ShakedownError) {
        guard count > 0 else { throw .invalidArgument("count", "must be positive, got \(count)") }
        // A huge count used to overflow this product and trap.
        let (bytes, overflow) = MemoryLayout<Element>.stride.multipliedReportingOverflow(by: count)
        guard !overflow, bytes <= SharedRegion.maximumSize else {
            throw .invalidArgument("count", "\(count) elements of \(MemoryLayout<Element>.stride) bytes exceed the \(SharedRegion.maximumSize)-byte limit of a shared region")
        }
        let owner: SharedRegion
        if let region { owner = region } else { owner = try SharedRegion(size: bytes, name: "shakedown-array") }
        storage = try owner.allocate(byteCount: bytes, alignment: MemoryLayout<Element>.alignment)
            .bindMemory(to: Element.self, capacity: count)
        storage.initialize(repeating: initial, count: count)
        self.count = count
        self.region = owner
    }

    /// Always 0.
    public var startIndex: Int { 0 }
    /// Always ``count``.
    public var endIndex: Int { count }

    /// Reads or writes element `index`; traps when `index` is out of bounds.
    public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "SharedArray index \(index) out of bounds 0..<\(count)")
            return storage[index]
        }
        set {
            precondition(index >= 0 && index < count, "SharedArray index \(index) out of bounds 0..<\(count)")
            storage[index] = newValue
        }
    }
}

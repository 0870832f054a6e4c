#if canImport(Glibc)
import Glibc
#endif

/// One of `count` machines that together do one run's work: shard `index` of `count`, 1-based, as
/// `shakedown run --shard 2/3` and `SHAKEDOWN_SHARD=2/3` write it.
///
/// The work (the repetitions of `shakedown run --repeat R`, the rounds of a library run) is cut into `count`
/// contiguous blocks whose sizes differ by at most one, the larger ones first: shard `i` takes items
/// `(i−1)·q + min(i−1, r) ..< i·q + min(i, r)` of `total = q·count + r`. The blocks are disjoint and together
/// are exactly `0..<total`, so the shards together do exactly the unsharded work, and the split depends on
/// nothing but `index`, `count` and `total`.
public struct Shard: Hashable, Sendable, CustomStringConvertible {
    /// This shard's number, 1...``count``.
    public let index: Int
    /// How many shards share the work (at least 1).
    public let count: Int

    /// The environment variable that library runs read: `SHAKEDOWN_SHARD=2/3 swift test`.
    public static let environmentVariable = "SHAKEDOWN_SHARD"

    /// The largest shard count accepted: more shards than this is a typo, not a CI matrix.
    public static let maximumCount = 1_000_000

    /// Shard `index` of `count`.
    /// - Throws: `.invalidArgument("shard")` unless `1 ≤ count ≤ maximumCount` and `1 ≤ index ≤ count`.
    public init(index: Int, count: Int) throws(ShakedownError) {
        guard count >= 1, count <= Self.maximumCount else {
            throw .invalidArgument("shard", "the shard count must be within 1...\(Self.maximumCount), got \(count)")
        }
        guard index >= 1, index <= count else {
            throw .invalidArgument("shard", "the shard index must be within 1...\(count) (1 ≤ i ≤ n), got \(index)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `i/n` (decimal, no spaces inside).
    /// - Throws: `.invalidArgument(name)` naming the accepted form and range.
    public init(parsing text: String, name: String = "shard") throws(ShakedownError) {
        let parts = text.trimmingWhitespace.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw .invalidArgument(name, "must be i/n with 1 ≤ i ≤ n (e.g. 2/3), got \"\(text)\"")
        }
        do throws(ShakedownError) { try self.init(index: index, count: count) } catch {
            guard error.code == .invalidArgument, let reason = error.reason else { throw error }
            throw .invalidArgument(name, reason + " (in \"\(text)\")")
        }
    }

    /// The shard in `SHAKEDOWN_SHARD`, or `nil` when it is unset or empty.
    /// - Throws: `.invalidArgument("SHAKEDOWN_SHARD")` when it is set to anything but `i/n` with `1 ≤ i ≤ n`.
    public static func fromEnvironment() throws(ShakedownError) -> Shard? {
        guard let raw = getenv(environmentVariable) else { return nil }
        let text = String(cString: raw).trimmingWhitespace
        if text.isEmpty { return nil }
        return try Shard(parsing: text, name: environmentVariable)
    }

    /// The items `0..<total` this shard takes (see the type's description); empty when `total < count` and
    /// this shard is past the last item.
    /// - Cost: two divisions; no overflow for any `total ≥ 0`.
    public func range(of total: Int) -> Range<Int> {
        guard total > 0 else { return 0..<0 }
        let (quotient, remainder) = total.quotientAndRemainder(dividingBy: count)
        func start(_ shard: Int) -> Int { shard * quotient + min(shard, remainder) }
        return start(index - 1) ..< start(index)
    }

    /// `2/3`.
    public var description: String { "\(index)/\(count)" }
}

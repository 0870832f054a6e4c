#if canImport(Glibc)
import Glibc
#endif

/// The number that decides every jitter choice of a run; printed with every verdict so a failure can be replayed.
///
/// The same seed gives every worker the same sequence of jitter decisions (which points delay, how, for how
/// long). The operating system's scheduling still varies, so a replay reproduces the pressure, not the exact
/// interleaving. Set `SHAKEDOWN_SEED` to rerun with a printed seed.
public struct Seed: Hashable, Sendable, CustomStringConvertible {
    /// The seed's value.
    public let value: UInt64

    /// A seed with this value.
    public init(_ value: UInt64) { self.value = value }

    /// The environment variable that overrides the seed of every run: `SHAKEDOWN_SEED=1234 swift test`.
    public static let environmentVariable = "SHAKEDOWN_SEED"

    /// A fresh random seed from the system generator.
    public static func random() -> Seed {
        var generator = SystemRandomNumberGenerator()
        return Seed(generator.next())
    }

    /// The seed in `SHAKEDOWN_SEED`, if set. Decimal or `0x` hexadecimal.
    /// - Throws: `.invalidArgument("SHAKEDOWN_SEED")` when it is set but not a number.
    public static func fromEnvironment() throws(ShakedownError) -> Seed? {
        guard let raw = getenv(environmentVariable) else { return nil }
        let text = String(cString: raw).trimmingWhitespace
        if text.isEmpty { return nil }
        guard let seed = Seed(parsing: text) else {
            throw .invalidArgument(environmentVariable, "not a decimal or 0x-hexadecimal number: \"\(text)\"")
        }
        return seed
    }

    /// Parses a decimal or `0x`-prefixed hexadecimal seed.
    public init?(parsing text: String) {
        let parsed = text.hasPrefix("0x") || text.hasPrefix("0X")
            ? UInt64(text.dropFirst(2), radix: 16)
            : UInt64(text)
        guard let parsed else { return nil }
        self.value = parsed
    }

    /// The seed the run will use: `explicit` if given, else `SHAKEDOWN_SEED`, else a random one.
    public static func resolve(_ explicit: Seed?) throws(ShakedownError) -> Seed {
        if let explicit { return explicit }
        return try fromEnvironment() ?? .random()
    }

    /// The seed of worker `index`: independent streams derived from one run seed.
    public func derived(for index: Int) -> Seed {
        var mixer = SplitMix64(seed: value ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: index + 1)))
        return Seed(mixer.next())
    }

    /// The value in decimal, as `SHAKEDOWN_SEED` takes it.
    public var description: String { String(value) }

    /// How to replay: `SHAKEDOWN_SEED=1234`.
    public var replayHint: String { "\(Self.environmentVariable)=\(value)" }
}

extension String {
    var trimmingWhitespace: String {
        String(String(drop(while: \.isWhitespace).reversed()).drop(while: \.isWhitespace).reversed())
    }
}

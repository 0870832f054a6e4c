import ArgumentParser
import Shakedown

/// Checked conversions of option values: a number out of range, infinite or not a number is a usage error
/// (exit 64) naming the accepted range, never a trap in a later conversion.
enum OptionValue {
    /// An integer within `range`; anything else (a negative, a number too big for Int, text) is refused with
    /// the range.
    static func integer(_ text: String, within range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError("must be an integer within \(range.lowerBound)...\(range.upperBound), got \(text)")
        }
        return value
    }

    /// A finite number of seconds within `range` (`inf`, `nan` and `1e10` are refused).
    static func seconds(_ text: String, within range: ClosedRange<Double>) throws -> Double {
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ValidationError("must be a number of seconds within \(format(range.lowerBound))...\(format(range.upperBound)), got \(text)")
        }
        return value
    }

    /// A seed, decimal or `0x` hexadecimal, as printed in replay lines.
    static func seed(_ text: String) throws -> Seed {
        guard let seed = Seed(parsing: text) else {
            throw ValidationError("must be a decimal or 0x-hexadecimal number within 0...\(UInt64.max), got \(text)")
        }
        return seed
    }

    /// A shell command for `--before` and `--check`: anything but empty.
    static func shellCommand(_ text: String) throws -> String {
        guard !text.allSatisfy(\.isWhitespace) else { throw ValidationError("must not be empty") }
        return text
    }

    /// `i/n` with 1 ≤ i ≤ n, for `--shard`.
    static func shard(_ text: String) throws -> Shard {
        do { return try Shard(parsing: text, name: "--shard") } catch {
            guard error.code == .invalidArgument, let reason = error.reason else { throw ValidationError(error.description) }
            throw ValidationError(TerminalText.escaped(reason))
        }
    }

    /// A file to write (`--junit`): anything but empty; whether it can be written is known only when writing.
    static func outputPath(_ text: String) throws -> String {
        guard !text.isEmpty else { throw ValidationError("must name a file") }
        return text
    }

    /// Seconds as a checked Duration (the value was range-checked, so the conversion cannot trap).
    static func duration(seconds: Double) -> Duration {
        .nanoseconds(Int64((seconds * 1_000_000_000).rounded()))
    }

    /// `0.001`, `604800`: no trailing `.0`.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// The accepted ranges of `shakedown run`'s numbers, in one place for the options, their help and the tests.
enum RunLimits {
    static let copies = 1...RunConfiguration.maximumProcesses
    static let rounds = 1...Int.max
    static let counters = 0...8
    static let repetitions = 1...1_000_000_000
    /// 1 ms ... 1 week, as `RunConfiguration.timeoutRange`.
    static let timeoutSeconds = 0.001...604_800.0
    /// 0 ... 1 hour, as `Teardown.maximumTotalWait`.
    static let graceSeconds = 0.0...3600.0
}

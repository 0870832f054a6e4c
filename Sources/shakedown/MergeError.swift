/// Why `shakedown merge` refused its input, with the exit code it leaves with (the BSD sysexits codes, as the
/// tool's 64 and 70 are).
enum MergeError: Error, CustomStringConvertible {
    /// A file that cannot be read (exit 66, EX_NOINPUT).
    case unreadable(String)
    /// Input that is not a complete, consistent set of `run --json` reports of one sharded run (exit 65,
    /// EX_DATAERR): not JSON, truncated, a field missing or out of range, shards of different runs, a shard
    /// given twice or missing.
    case data(String)

    var exitCode: Int32 {
        switch self {
        case .unreadable: return 66
        case .data: return 65
        }
    }

    var description: String {
        switch self {
        case let .unreadable(message), let .data(message): return message
        }
    }
}

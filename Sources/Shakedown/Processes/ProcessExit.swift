/// How a process ended: an exit code, or a signal.
public enum ProcessExit: Hashable, Sendable, CustomStringConvertible {
    /// It called `exit`/`_exit` (or returned from `main`) with this code.
    case exited(code: Int32)
    /// A signal ended it; `coreDumped` when the kernel wrote a core.
    case signaled(Signal, coreDumped: Bool = false)

    /// Decodes a `wait(2)` status word.
    public init(waitStatus status: Int32) {
        let signal = status & 0x7F
        if signal == 0 {
            self = .exited(code: (status >> 8) & 0xFF)
        } else {
            self = .signaled(Signal(signal), coreDumped: status & 0x80 != 0)
        }
    }

    /// `true` only for exit code 0.
    public var isSuccess: Bool { self == .exited(code: 0) }

    /// The signal, when a signal ended the process.
    public var signal: Signal? {
        if case let .signaled(signal, _) = self { return signal }
        return nil
    }

    /// `exit 3`, `killed by SIGSEGV (core dumped)`.
    public var description: String {
        switch self {
        case let .exited(code): return "exit \(code)"
        case let .signaled(signal, core): return "killed by \(signal.name)" + (core ? " (core dumped)" : "")
        }
    }
}

extension ProcessExit: Codable {
    private enum CodingKeys: String, CodingKey { case code, signal, coreDumped }

    /// JSON: `{"code": 0}` or `{"signal": "SIGSEGV"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .exited(code): try container.encode(code, forKey: .code)
        case let .signaled(signal, core):
            try container.encode(signal, forKey: .signal)
            if core { try container.encode(true, forKey: .coreDumped) }
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let code = try container.decodeIfPresent(Int32.self, forKey: .code) {
            self = .exited(code: code)
        } else {
            self = .signaled(
                try container.decode(Signal.self, forKey: .signal),
                coreDumped: try container.decodeIfPresent(Bool.self, forKey: .coreDumped) ?? false)
        }
    }
}

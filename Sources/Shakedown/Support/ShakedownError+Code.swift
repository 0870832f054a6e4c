extension ShakedownError {
    /// The kind of a ``ShakedownError``, without its details: what a program switches over.
    ///
    /// A struct over private storage rather than a public enum, so that adding a kind is not a source-breaking
    /// change: a client's `switch` over codes needs a `default:` branch, and a later kind falls into it. Codes
    /// compare by kind only (`error.code == .systemCall` whatever the call and errno); the details are properties of
    /// the error (``ShakedownError/systemCall``, ``ShakedownError/errno``, …). Costs nothing beyond a byte.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            case invalidArgument, systemCall, noSuchProcess, permissionDenied, malformedData, executableNotFound
        }

        private let kind: Kind

        private init(_ kind: Kind) { self.kind = kind }

        /// An argument was rejected before anything was forked or mapped: see ``ShakedownError/argumentName`` and
        /// ``ShakedownError/reason``.
        public static var invalidArgument: Code { Code(.invalidArgument) }
        /// A system call failed: see ``ShakedownError/systemCall`` and ``ShakedownError/errno``.
        public static var systemCall: Code { Code(.systemCall) }
        /// A process to inspect or signal does not exist (any more): see ``ShakedownError/pid``.
        public static var noSuchProcess: Code { Code(.noSuchProcess) }
        /// The kernel refused access to a process: see ``ShakedownError/pid`` and ``ShakedownError/reason``.
        public static var permissionDenied: Code { Code(.permissionDenied) }
        /// Data read from another process (a worker's result channel, /proc) could not be understood: see
        /// ``ShakedownError/dataSource`` and ``ShakedownError/reason``.
        public static var malformedData: Code { Code(.malformedData) }
        /// An executable could not be found or started: see ``ShakedownError/executable``.
        public static var executableNotFound: Code { Code(.executableNotFound) }

        /// The kind's name as written in Swift (`"systemCall"`), for logs.
        public var description: String {
            switch kind {
            case .invalidArgument: return "invalidArgument"
            case .systemCall: return "systemCall"
            case .noSuchProcess: return "noSuchProcess"
            case .permissionDenied: return "permissionDenied"
            case .malformedData: return "malformedData"
            case .executableNotFound: return "executableNotFound"
            }
        }
    }
}

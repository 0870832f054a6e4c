// A worker that dies the way real code does. The first argument picks how:
//   segfault   writes through a null pointer (SIGSEGV)
//   abort      calls abort() (SIGABRT)
//   fatal      calls fatalError with a message (SIGILL/SIGTRAP; the message goes to stderr)
//   exit:N     exits with code N
//   ok         prints a line and exits 0 (the fixed twin)
// With a second argument K, only copy K of a `shakedown run` crashes; the others exit 0.
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments.dropFirst()
let mode = arguments.first ?? "segfault"
let onlyCopy = arguments.dropFirst().first.flatMap { Int($0) }
let myCopy = getenv("SHAKEDOWN_WORKER").flatMap { Int(String(cString: $0)) }

print("crashing-worker pid \(getpid()) copy \(myCopy.map(String.init) ?? "-") mode \(mode)")
fflush(nil)

if let onlyCopy, onlyCopy != myCopy { exit(0) }

@inline(never)
func dereferenceNull() {
    // Address 8: never mapped, so the store faults (a nil pointer would trap in Swift before reaching memory).
    guard let pointer = UnsafeMutablePointer<Int>(bitPattern: 8) else { return }
    pointer.pointee = 42
}

switch mode {
case "segfault":
    dereferenceNull()
case "abort":
    abort()
case "fatal":
    fatalError("crashing-worker: invariant broken in copy \(myCopy ?? -1)")
case let exitMode where exitMode.hasPrefix("exit:"):
    exit(Int32(exitMode.dropFirst(5)) ?? 3)
case "ok":
    exit(0)
default:
    complain("crashing-worker: unknown mode \(mode)\n")
    exit(2)
}

func complain(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

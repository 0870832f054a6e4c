// Crashes on a secondary thread, three calls deep, so the Swift runtime backtracer prints a real
// "*** Program crashed" report (frames, registers, image list) on standard error for CrashBacktrace to parse.
//   unwrap  force-unwraps nil in parseRecord (a Swift runtime trap)
//   null    writes through a null pointer in storeRecord (SIGSEGV)
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) var mode = "unwrap"

@inline(never)
func parseRecord(_ text: String?) -> Int {
    text!.count  // nil: "Unexpectedly found nil while unwrapping an Optional value"
}

@inline(never)
func storeRecord(_ value: Int) {
    // Address 8: not nil to Swift, unmapped to the kernel.
    guard let pointer = UnsafeMutablePointer<Int>(bitPattern: 8 + Int(getpid()) * 0) else { return }
    pointer.pointee = value
}

@inline(never)
func importBatch(_ records: [String?]) -> Int {
    var total = 0
    for record in records {
        if mode == "null" { storeRecord(total) } else { total += parseRecord(record) }
    }
    return total
}

func importer(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let total = importBatch(["a", nil])
    return UnsafeMutableRawPointer(bitPattern: total)
}

_ = shakedown_set_parent_death_signal(SIGKILL)
mode = CommandLine.arguments.dropFirst().first ?? "unwrap"
var thread = pthread_t()
pthread_create(&thread, nil, importer, nil)
pthread_join(thread, nil)

// Race catalogue: lost update on shared memory, in Swift. `race-shm-counter-swift [--fixed] FILE N` adds 1 to a
// counter in FILE (mapped MAP_SHARED) N times with a plain `+=`; copies started together lose updates. The fixed twin
// uses `Synchronization.Atomic`. No Shakedown code in here.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

var arguments = Array(CommandLine.arguments.dropFirst())
let fixed = arguments.first == "--fixed"
if fixed { arguments.removeFirst() }
guard arguments.count == 2, let n = Int(arguments[1]), n >= 0 else {
    let usage = "usage: race-shm-counter-swift [--fixed] FILE N\n"
    _ = usage.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(64)
}
let fd = open(arguments[0], O_RDWR | O_CREAT, 0o644)
guard fd >= 0, ftruncate(fd, 4096) == 0 else {
    perror("open")
    exit(1)
}
guard let mapping = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapping != MAP_FAILED else {
    perror("mmap")
    exit(1)
}
if fixed {
    let counter = mapping.bindMemory(to: Atomic<Int>.self, capacity: 1)
    for _ in 0..<n { counter.pointee.wrappingAdd(1, ordering: .relaxed) }
} else {
    let counter = mapping.bindMemory(to: Int.self, capacity: 1)
    for _ in 0..<n { counter.pointee += 1 }  // the bug: load, add, store
}

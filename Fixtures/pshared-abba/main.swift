// A parent and its child take two process-shared pthread mutexes (in MAP_SHARED memory) in opposite order:
// an ABBA deadlock between two processes, without Shakedown locks. A process-shared barrier makes sure each holds
// its first mutex before asking for its second.
// Prints "PARENT_PID CHILD_PID" once both run. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

func fail(_ message: String) -> Never {
    let text = "pshared-abba: \(message)\n"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(2)
}

struct Shared {
    var stock = pthread_mutex_t()
    var prices = pthread_mutex_t()
    var bothHoldTheirFirst = pthread_barrier_t()
}

@inline(never)
func updateStockThenPrices(_ shared: UnsafeMutablePointer<Shared>) {
    pthread_mutex_lock(&shared.pointee.stock)
    pthread_barrier_wait(&shared.pointee.bothHoldTheirFirst)
    pthread_mutex_lock(&shared.pointee.prices)  // the child holds it and waits for `stock`: never returns
}

@inline(never)
func updatePricesThenStock(_ shared: UnsafeMutablePointer<Shared>) {
    pthread_mutex_lock(&shared.pointee.prices)
    pthread_barrier_wait(&shared.pointee.bothHoldTheirFirst)
    pthread_mutex_lock(&shared.pointee.stock)  // the parent holds it and waits for `prices`: never returns
}

_ = shakedown_set_parent_death_signal(SIGKILL)
guard let memory = mmap(nil, MemoryLayout<Shared>.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
      memory != MAP_FAILED
else { fail("mmap failed") }
let shared = memory.bindMemory(to: Shared.self, capacity: 1)
shared.initialize(to: Shared())
var attributes = pthread_mutexattr_t()
pthread_mutexattr_init(&attributes)
pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED))
pthread_mutex_init(&shared.pointee.stock, &attributes)
pthread_mutex_init(&shared.pointee.prices, &attributes)
var barrierAttributes = pthread_barrierattr_t()
pthread_barrierattr_init(&barrierAttributes)
pthread_barrierattr_setpshared(&barrierAttributes, Int32(PTHREAD_PROCESS_SHARED))
pthread_barrier_init(&shared.pointee.bothHoldTheirFirst, &barrierAttributes, 2)
let parent = getpid()
fflush(nil)
let child = fork()
if child < 0 { fail("fork failed") }
if child == 0 {
    _ = shakedown_set_parent_death_signal(SIGKILL)
    if getppid() != parent { _exit(1) }
    updatePricesThenStock(shared)
    _exit(0)
}
print("\(parent) \(child)")
fflush(nil)
updateStockThenPrices(shared)

// Two threads take two Swift `Synchronization.Mutex`es in opposite order. On Linux a Mutex is a PI futex: the
// kernel sees the cycle, refuses the second lock with EDEADLK, and the Swift runtime stops the process with the
// misleading "Recursive call to lock Mutex" — a deadlock reported as a crash. CrashBacktrace explains it.
// A barrier makes the cycle happen every time.
import CShakedown
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

let stock = Mutex(0)
let prices = Mutex(0)
nonisolated(unsafe) var bothHoldTheirFirst = pthread_barrier_t()

@inline(never)
func repriceStock(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    stock.withLock { count in
        pthread_barrier_wait(&bothHoldTheirFirst)
        prices.withLock { $0 += count }
    }
    return nil
}

@inline(never)
func restockPrices(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    prices.withLock { value in
        pthread_barrier_wait(&bothHoldTheirFirst)
        stock.withLock { $0 += value }
    }
    return nil
}

_ = shakedown_set_parent_death_signal(SIGKILL)
pthread_barrier_init(&bothHoldTheirFirst, nil, 2)
var first = pthread_t()
var second = pthread_t()
pthread_create(&first, nil, repriceStock, nil)
pthread_create(&second, nil, restockPrices, nil)
pthread_join(first, nil)
pthread_join(second, nil)

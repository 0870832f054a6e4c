// Two threads take two Foundation NSLocks in opposite order (NSLock is a pthread mutex on Linux): ABBA.
// A barrier makes sure each holds its first lock before asking for its second. The main thread sleeps.
// Prints "PID" once both threads have started. Dies with its parent.
import CShakedown
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

let inventory = NSLock()
let orders = NSLock()
nonisolated(unsafe) var bothHoldTheirFirst = pthread_barrier_t()

@inline(never)
func reserveInventoryThenOrder() {
    inventory.lock()
    pthread_barrier_wait(&bothHoldTheirFirst)
    orders.lock()  // held by the other thread, which waits for `inventory`: never returns
    orders.unlock()
    inventory.unlock()
}

@inline(never)
func placeOrderThenReserve() {
    orders.lock()
    pthread_barrier_wait(&bothHoldTheirFirst)
    inventory.lock()  // held by the other thread, which waits for `orders`: never returns
    inventory.unlock()
    orders.unlock()
}

_ = shakedown_set_parent_death_signal(SIGKILL)
pthread_barrier_init(&bothHoldTheirFirst, nil, 2)
Thread.detachNewThread { reserveInventoryThenOrder() }
Thread.detachNewThread { placeOrderThenReserve() }
print(getpid())
fflush(nil)
while true { sleep(100) }

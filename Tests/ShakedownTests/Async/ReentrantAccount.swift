@testable import Shakedown

/// Catalogue bug "actor reentrancy": the balance is read before an `await` and written after it. While the
/// withdrawal is suspended the actor takes the other call, which reads the same old balance: both succeed and
/// the account goes negative. An actor does not make a check-then-act atomic across a suspension point.
actor ReentrantAccount {
    private(set) var balance = 100

    func withdraw(_ amount: Int) async -> Bool {
        guard balance >= amount else { return false }
        await Task.yield()  // e.g. a fraud check on another service
        balance -= amount
        return true
    }
}

/// Its fixed twin: the money is reserved before the suspension and only given back if the check fails.
actor ReservingAccount {
    private(set) var balance = 100

    func withdraw(_ amount: Int) async -> Bool {
        guard balance >= amount else { return false }
        balance -= amount
        await Task.yield()
        return true
    }
}

/// Two withdrawals of 60 from 100; the second caller does some work first (≈ 2 ms), as a second request
/// arriving a little later would. Returns the final balance: negative means the bug struck.
func twoWithdrawals(reentrant: Bool) async -> Int {
    if reentrant {
        let account = ReentrantAccount()
        async let first = account.withdraw(60)
        async let second = { () async -> Bool in
            busyWait(nanoseconds: 2_000_000)
            return await account.withdraw(60)
        }()
        _ = await (first, second)
        return await account.balance
    }
    let account = ReservingAccount()
    async let first = account.withdraw(60)
    async let second = { () async -> Bool in
        busyWait(nanoseconds: 2_000_000)
        return await account.withdraw(60)
    }()
    _ = await (first, second)
    return await account.balance
}

private func busyWait(nanoseconds: UInt64) {
    let start = executorClockNow()
    while executorClockNow() - start < nanoseconds {}
}

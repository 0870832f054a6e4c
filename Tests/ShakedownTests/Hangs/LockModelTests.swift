@testable import Shakedown
import XCTest

/// The pure parts of lock analysis on hostile and edge-case input: futex words that are not mutexes, a lock being
/// released, /proc/locks lines, and graphs where a cycle must not be claimed.
final class LockModelTests: XCTestCase {
    private func mutexBytes(lock: UInt32, owner: Int32, kind: Int32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in 0..<4 {
            bytes[index] = UInt8(truncatingIfNeeded: lock >> (8 * UInt32(index)))
            bytes[8 + index] = UInt8(truncatingIfNeeded: UInt32(bitPattern: owner) >> (8 * UInt32(index)))
            bytes[16 + index] = UInt8(truncatingIfNeeded: UInt32(bitPattern: kind) >> (8 * UInt32(index)))
        }
        return bytes
    }

    func testALockedNormalMutexNamesItsOwner() {
        let probe = FutexLock.Probe(address: 0x1000, operation: 0, isPrivate: true, expected: 2,
                                    bytes: mutexBytes(lock: 2, owner: 4711, kind: 0))
        XCTAssertEqual(FutexLock.classify(probe), .held(kind: .pthreadMutex, owner: 4711, detail: nil))
    }

    func testARobustSharedMutexOwnerComesFromItsWord() {
        let word: UInt32 = 0x8000_0000 | 4712  // FUTEX_WAITERS | tid
        let probe = FutexLock.Probe(address: 0x1000, operation: 0, isPrivate: false, expected: word,
                                    bytes: mutexBytes(lock: word, owner: 4712, kind: 16 | 128))
        XCTAssertEqual(FutexLock.classify(probe), .held(kind: .pthreadMutex, owner: 4712, detail: nil))
    }

    func testAPIFutexWordHoldsTheOwner() {
        let probe = FutexLock.Probe(address: 0x1000, operation: 6, isPrivate: true, expected: 0,
                                    bytes: [0x67, 0x12, 0, 0x80])  // 0x80001267: FUTEX_WAITERS | 4711
        XCTAssertEqual(FutexLock.classify(probe), .held(kind: .piFutex, owner: 4711, detail: nil))
    }

    func testGarbageIsNotALockAndNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 3, 4, 11, 12, 19, 20, 24] {
            for _ in 0..<200 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                for operation in [0, 6, 9, 13] {
                    let verdict = FutexLock.classify(.init(address: 8, operation: operation, isPrivate: true,
                                                           expected: .random(in: 0...3), bytes: bytes))
                    if case let .held(_, owner, _) = verdict { XCTAssertGreaterThan(owner, 0) }
                }
            }
        }
        let condvarLike = FutexLock.Probe(address: 0x1000, operation: 9, isPrivate: true, expected: 2,
                                          bytes: mutexBytes(lock: 2, owner: 77, kind: 0x4BFF_F9A0))
        guard case .notALock = FutexLock.classify(condvarLike) else { return XCTFail("a bad kind field is not a mutex") }
    }

    func testAMutexBeingReleasedHasNoOwner() {
        // The word changed since the thread slept on it: an unlock is waking it.
        let changed = FutexLock.Probe(address: 0x1000, operation: 0, isPrivate: true, expected: 2,
                                      bytes: mutexBytes(lock: 0, owner: 0, kind: 0))
        guard case .unowned = FutexLock.classify(changed) else { return XCTFail("\(FutexLock.classify(changed))") }
        // glibc clears __owner before __lock.
        let clearing = FutexLock.Probe(address: 0x1000, operation: 0, isPrivate: true, expected: 2,
                                       bytes: mutexBytes(lock: 2, owner: 0, kind: 0))
        guard case .unowned = FutexLock.classify(clearing) else { return XCTFail("\(FutexLock.classify(clearing))") }
    }

    func testProcLocksLinesAndBlockers() {
        let table = FileLockTable(text: """
            1: FLOCK  ADVISORY  WRITE 100 fd:01:4242 0 EOF
            1: -> FLOCK  ADVISORY  WRITE 200 fd:01:4242 0 EOF
            2: POSIX  ADVISORY  READ 300 00:2b:77 0 99
            3: OFDLCK ADVISORY  WRITE -1 00:2b:77 200 EOF
            garbage line
            """)
        XCTAssertEqual(table.entries.count, 4)
        XCTAssertEqual(table.blockers(file: "fd:01:4242", byFlock: true, exclusive: true).map(\.pid), [100])
        XCTAssertEqual(table.blockers(file: "fd:01:4242", byFlock: false, exclusive: true).map(\.pid), [], "flock and fcntl locks do not compete")
        XCTAssertEqual(table.blockers(file: "00:2b:77", byFlock: false, exclusive: false, start: 0, end: 50).map(\.pid), [], "readers share")
        XCTAssertEqual(table.blockers(file: "00:2b:77", byFlock: false, exclusive: true, start: 150, end: 160).map(\.pid), [], "ranges apart")
        XCTAssertEqual(table.blockers(file: "00:2b:77", byFlock: false, exclusive: true, start: 50, end: nil).map(\.pid), [300, -1])
        XCTAssertEqual(FileLockTable.fileKey(device: 0xFD01, inode: 4242), "fd:01:4242")
    }

    func testAProcessWithAFreeThreadIsNoLinkInACycle() {
        let a = ThreadID(pid: 10, tid: 10), b = ThreadID(pid: 20, tid: 20), bFree = ThreadID(pid: 20, tid: 21)
        let edges: [WaitForGraph.Edge] = [
            .init(waiter: a, lock: "file lock", lockIdentity: "f1", kind: .fileLock, owner: .process(pid: 20)),
            .init(waiter: b, lock: "file lock", lockIdentity: "f2", kind: .fileLock, owner: .process(pid: 10)),
        ]
        let graph = WaitForGraph(edges: edges)
        let stuck = graph.adjacency(threadsOf: [10: [a], 20: [b]])
        XCTAssertEqual(WaitForGraph.cycles(stuck).count, 1)
        let oneFree = graph.adjacency(threadsOf: [10: [a], 20: [b, bFree]])
        XCTAssertTrue(WaitForGraph.cycles(oneFree).isEmpty, "pid 20 may still release its lock from thread 21")
    }

    func testThreadsWaitingOnACycleAreListedBehindIt() {
        func thread(_ tid: Int32, waitsFor owner: Int32?, lock: String) -> ThreadSnapshot {
            ThreadSnapshot(tid: tid, name: "t", state: .sleeping, waitsFor: owner.map {
                LockWait(kind: .pthreadMutex, identity: lock, address: 1, owners: [.thread(id: ThreadID(pid: 1, tid: $0))])
            })
        }
        let snapshot = ProcessSnapshot(pid: 1, commandLine: [], executable: nil, state: .sleeping, threads: [
            thread(2, waitsFor: 3, lock: "a"), thread(3, waitsFor: 2, lock: "b"), thread(4, waitsFor: 2, lock: "b"),
            thread(5, waitsFor: 4, lock: "c"), thread(6, waitsFor: 99_999_999, lock: "d"),
        ])
        let analysis = DeadlockAnalysis(snapshots: [snapshot])
        XCTAssertEqual(analysis.deadlocks.count, 1)
        XCTAssertEqual(analysis.deadlocks.first?.waits.map(\.waiter.tid), [2, 3])
        XCTAssertEqual(analysis.blockedBehindDeadlock.map(\.waiter.tid), [4, 5])
        XCTAssertTrue(analysis.explanation.contains("Blocked behind the deadlock:"), analysis.explanation)
    }
}

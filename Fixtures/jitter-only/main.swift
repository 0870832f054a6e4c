// Production code's view of Shakedown: it imports only ShakedownJitter and keeps its jitter points. Outside a run
// each point is one load and one branch; JitterLinkTests checks that this binary needs no libunwind or lzma, and
// docs/design.md shows the release-build disassembly of `stepWithJitterPoint`.
#if canImport(Glibc)
import Glibc
#endif
import ShakedownJitter

/// A unit of "production" work with a point in the middle, kept out of line so its code is easy to find.
@inline(never)
func stepWithJitterPoint(_ total: UnsafeMutablePointer<Int>) {
    total.pointee &+= 1
    Jitter.point()
    total.pointee &+= 1
}

let rounds = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 1_000
var total = 0
for _ in 0..<max(rounds, 0) { stepWithJitterPoint(&total) }
print("jitter-only: \(total / 2) points, armed: \(Jitter.isArmed)")

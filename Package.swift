// swift-tools-version: 6.1
import PackageDescription

/// A fixture: a small real program with a known concurrency bug (or its fixed twin).
func fixture(_ name: String, dependencies: [Target.Dependency] = ["Shakedown"]) -> Target {
    .executableTarget(name: name, dependencies: dependencies, path: "Fixtures/\(name)")
}

// Linux only: Shakedown forks, ptraces, maps shared memory and reads /proc. On any other platform each library stops
// the build with `#error("Shakedown runs on Linux only: …")` (Platform.swift in each module, shakedown_platform.h in
// the C shim) rather than failing at link time. ShakedownJitter alone has no such check (plain C11 and Swift, no
// Linux-only call), so it does not stop production code that also targets other systems; only Linux is built and
// tested, and only Shakedown arms its points. `platforms` below only sets the minimum macOS for manifest resolution.
let package = Package(
    name: "shakedown",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Shakedown", targets: ["Shakedown"]),
        // Only `Jitter.point()`, for production code: no libunwind, lzma, ptrace or Foundation; Shakedown re-exports it.
        .library(name: "ShakedownJitter", targets: ["ShakedownJitter"]),
        .library(name: "ShakedownXCTest", targets: ["ShakedownXCTest"]),
        .library(name: "ShakedownTesting", targets: ["ShakedownTesting"]),
        .executable(name: "shakedown", targets: ["shakedown"]),
        // Preemption jitter for exec'd commands (LD_PRELOAD); built next to the test and CLI binaries.
        .library(name: "ShakedownPreempt", type: .dynamic, targets: ["CShakedownPreempt"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // `swift package generate-documentation`: the DocC catalogs are built (warnings as errors) by .ci/run.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Debian's libunwind-dev; the .so does not declare liblzma, so the module map links it explicitly.
        .systemLibrary(
            name: "CLibunwind",
            pkgConfig: "libunwind-ptrace",
            providers: [.apt(["libunwind-dev"])]
        ),
        // Everything Swift cannot call directly: variadic prctl/ptrace, futex, libunwind macros, the opaque racy access.
        // The jitter point's run-time half: per-thread decision streams and the ambient root. Plain C, no dependency.
        .target(name: "CShakedownJitter"),
        .target(name: "ShakedownJitter", dependencies: ["CShakedownJitter"]),
        .target(
            name: "CShakedown",
            dependencies: ["CLibunwind", "CShakedownJitter"],
            linkerSettings: [.linkedLibrary("unwind-ptrace"), .linkedLibrary("unwind-generic"), .linkedLibrary("lzma")]
        ),
        .target(
            name: "Shakedown",
            dependencies: [
                "CShakedown",
                "ShakedownJitter",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The preload library's code: interposes pthread_create, sigaction, signal, ptrace, the blocking calls Linux never
        // restarts after a handler, the signal waits and socket calls with timeouts; no dependency, links libdl only.
        .target(name: "CShakedownPreempt", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "ShakedownXCTest", dependencies: ["Shakedown"]),
        // Swift Testing assertions and the async run helper.
        .target(name: "ShakedownTesting", dependencies: ["Shakedown"]),
        .executableTarget(
            name: "shakedown",
            dependencies: [
                "Shakedown",
                "CShakedown",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        fixture("racy-counter"),
        fixture("locked-counter"),
        fixture("crashing-worker"),
        fixture("zombie-leaker", dependencies: []),
        fixture("zombie-reaper", dependencies: []),
        fixture("orphan-maker", dependencies: []),
        fixture("orphan-waiter", dependencies: []),
        fixture("setsid-daemon", dependencies: []),
        fixture("foreground-service", dependencies: []),
        fixture("sigterm-ignorer", dependencies: []),
        fixture("sigterm-handler", dependencies: []),
        // Hang fixtures.
        fixture("abba-deadlock", dependencies: ["Shakedown", "CShakedown"]),
        fixture("ordered-locks", dependencies: ["Shakedown", "CShakedown"]),
        fixture("spinning-worker", dependencies: ["CShakedown"]),
        fixture("pipe-blocked", dependencies: ["CShakedown"]),
        fixture("semaphore-wait", dependencies: ["CShakedown"]),
        fixture("thread-churn", dependencies: ["CShakedown"]),
        fixture("pthread-abba", dependencies: ["CShakedown"]),
        fixture("nslock-abba", dependencies: ["CShakedown"]),
        fixture("pshared-abba", dependencies: ["CShakedown"]),
        fixture("flock-abba", dependencies: ["CShakedown"]),
        fixture("lock-owner", dependencies: ["CShakedown"]),
        fixture("crash-backtrace", dependencies: ["CShakedown"]),
        fixture("rwlock-cycle", dependencies: ["CShakedown"]),
        fixture("mutex-abba", dependencies: ["CShakedown"]),
        // Race catalogue: plain programs without jitter points, each with its fixed twin behind --fixed.
        fixture("race-shm-counter", dependencies: []),
        fixture("race-shm-counter-swift", dependencies: []),
        fixture("race-shm-tickets", dependencies: []),
        fixture("race-file-counter", dependencies: []),
        fixture("race-append", dependencies: []),
        fixture("race-double-init", dependencies: []),
        fixture("race-threads", dependencies: []),
        fixture("race-lost-wakeup", dependencies: []),
        fixture("race-pipe-order", dependencies: []),
        fixture("race-aba", dependencies: []),
        fixture("signal-owner", dependencies: []),
        // Blocking calls Linux never restarts after a handler: preemption must not make them return EINTR.
        fixture("eintr-probe", dependencies: []),
        fixture("busy-loop", dependencies: []),
        fixture("signal-wait-probe", dependencies: []),
        fixture("socket-timeout-probe", dependencies: []),
        fixture("traced-child", dependencies: []),
        fixture("idle-threads", dependencies: []),
        // Production code's view: imports only ShakedownJitter (JitterLinkTests checks what it links).
        fixture("jitter-only", dependencies: ["ShakedownJitter"]),
        // Async bug catalogue (issue 13): five bugs with fixed twins, on the runtime's or Shakedown's executor.
        fixture("async-catalogue"),

        .testTarget(name: "ShakedownTests", dependencies: ["Shakedown", "CShakedown"]),
        .testTarget(name: "ShakedownXCTestTests", dependencies: ["ShakedownXCTest", "Shakedown"]),
        .testTarget(name: "shakedownCLITests", dependencies: ["Shakedown"]),
        .testTarget(name: "ShakedownTestingTests", dependencies: ["ShakedownTesting", "Shakedown"]),
        .executableTarget(name: "shakedown-benchmarks", dependencies: ["Shakedown", "CShakedownBenchmarks"], path: "Benchmarks/shakedown-benchmarks"),
        // Which worker bodies complete after fork while the parent is busy (docs/guide.md's table).
        .executableTarget(name: "fork-safety-probe", dependencies: ["Shakedown"], path: "Benchmarks/fork-safety-probe"),
        // Raw C baselines for the benchmarks (fork loop, 2-process barrier); kept out of the library's shim.
        .target(name: "CShakedownBenchmarks", path: "Benchmarks/CShakedownBenchmarks"),
        // The multiprocessing toolbox examples (issue 12); ExamplesTests runs each one.
        .executableTarget(name: "shakedown-examples", dependencies: ["Shakedown"], path: "docs/examples", exclude: ["README.md"]),
    ],
    swiftLanguageModes: [.v6]
)

// The classic multiprocessing examples, in Swift with Shakedown's toolbox. Each is one file here, mirrors the
// Python example named in its comment, prints its result, and is run by Tests/ShakedownTests/Toolbox/ExamplesTests.swift.
//
//     swift run shakedown-examples pool-squares
#if canImport(Glibc)
import Glibc
#endif

let examples: [String: () throws -> Void] = [
    "two-readers": TwoReaders.main,
    "pool-squares": PoolSquares.main,
    "producer-consumer": ProducerConsumer.main,
    "poison-pills": PoisonPills.main,
    "locked-output": LockedOutput.main,
    "semaphore-of-three": SemaphoreOfThree.main,
    "pipe-ping-pong": PipePingPong.main,
    "shared-value-and-array": SharedValueAndArray.main,
    "shared-dictionary-and-list": SharedDictionaryAndList.main,
    "shared-counter-object": SharedCounterObject.main,
    "run-command": RunCommand.main,
    "serial-versus-pool": SerialVersusPool.main,
]

let arguments = CommandLine.arguments.dropFirst()
guard let name = arguments.first, let example = examples[name] else {
    print("usage: shakedown-examples NAME [ARGUMENTS]; names: \(examples.keys.sorted().joined(separator: ", "))")
    exit(2)
}
do {
    try example()
} catch {
    print("error: \(error)")
    exit(1)
}

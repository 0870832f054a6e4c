// A parent and its child lock two files in opposite order (flock, or OFD locks with the argument "ofd"): an ABBA deadlock through file locks between two
// processes. The parent locks A, the child locks B, then each asks for the other's file.
// Prints "PARENT_PID CHILD_PID" before the parent blocks. Dies with its parent; the files are unlinked once both
// processes have them open.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

func fail(_ message: String) -> Never {
    let text = "flock-abba: \(message)\n"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(2)
}

func openFile(_ path: String) -> CInt {
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    if descriptor < 0 { fail("open \(path): errno \(errno)") }
    return descriptor
}

/// `flock`, or with the argument "ofd" an open-file-description lock (fcntl F_OFD_SETLKW) on the whole file.
nonisolated(unsafe) var useOFD = false

func lockExclusively(_ descriptor: CInt) {
    if useOFD {
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        let ofdSetLockWait: CInt = 38  // F_OFD_SETLKW (a _GNU_SOURCE name the Glibc module does not import)
        _ = withUnsafeMutablePointer(to: &request) { fcntl(descriptor, ofdSetLockWait, UnsafeMutableRawPointer($0)) }
    } else {
        flock(descriptor, LOCK_EX)
    }
}

@inline(never)
func lockJournalThenIndex(journal: CInt, index: CInt) {
    lockExclusively(journal)
    lockExclusively(index)  // the child holds it and waits for the journal: never returns
}

@inline(never)
func lockIndexThenJournal(index: CInt, journal: CInt, ready: CInt) {
    lockExclusively(index)
    _ = write(ready, "1", 1)
    lockExclusively(journal)  // the parent holds it and waits for the index: never returns
}

_ = shakedown_set_parent_death_signal(SIGKILL)
useOFD = CommandLine.arguments.dropFirst().first == "ofd"
let base = "/tmp/shakedown-flock-abba-\(getpid())"
let journalPath = base + ".journal", indexPath = base + ".index"
let journal = openFile(journalPath)
let index = openFile(indexPath)
lockExclusively(journal)
var ready: [CInt] = [-1, -1]
guard pipe(&ready) == 0 else { fail("pipe") }
let parent = getpid()
fflush(nil)
let child = fork()
if child < 0 { fail("fork failed") }
if child == 0 {
    _ = shakedown_set_parent_death_signal(SIGKILL)
    if getppid() != parent { _exit(1) }
    // Own open file descriptions: flock locks belong to the description, and the inherited ones are the parent's.
    close(journal)
    close(index)
    lockIndexThenJournal(index: openFile(indexPath), journal: openFile(journalPath), ready: ready[1])
    _exit(0)
}
var byte: UInt8 = 0
_ = read(ready[0], &byte, 1)
unlink(journalPath)
unlink(indexPath)
print("\(parent) \(child)")
fflush(nil)
lockJournalThenIndex(journal: journal, index: index)

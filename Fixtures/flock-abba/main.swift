// A parent and its child flock two files in opposite order: an ABBA deadlock through file locks between two
// processes. The parent locks A, the child locks B, then each asks for the other's file.
// Prints "PARENT_PID CHILD_PID" before the parent blocks. Dies with its parent; the files are unlinked once both
// processes have them open.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

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

@inline(never)
func lockJournalThenIndex(journal: CInt, index: CInt) {
    flock(journal, LOCK_EX)
    flock(index, LOCK_EX)  // the child holds it and waits for the journal: never returns
}

@inline(never)
func lockIndexThenJournal(index: CInt, journal: CInt, ready: CInt) {
    flock(index, LOCK_EX)
    _ = write(ready, "1", 1)
    flock(journal, LOCK_EX)  // the parent holds it and waits for the index: never returns
}

_ = shakedown_set_parent_death_signal(SIGKILL)
let base = "/tmp/shakedown-flock-abba-\(getpid())"
let journalPath = base + ".journal", indexPath = base + ".index"
let journal = openFile(journalPath)
let index = openFile(indexPath)
flock(journal, LOCK_EX)
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

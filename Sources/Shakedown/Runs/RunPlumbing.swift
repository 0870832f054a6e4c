#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Every descriptor a run opens, and who keeps which end.
///
/// The test process (supervisor) keeps the read ends of the worker channels and the event channel, and the write
/// ends of the command channel and the lifeline. The run leader keeps the others; each worker keeps only its own
/// result and output write ends. All are close-on-exec; the forked sides close what they do not own, so a worker
/// that forks helpers does not pass the run's pipes along.
package struct RunPlumbing {
    package let results: [Pipe]
    package let outputs: [Pipe]
    /// Leader → supervisor: worker starts and exits, orphans, done.
    package let events: Pipe
    /// Supervisor → leader: "tear down the hung workers".
    package let commands: Pipe
    /// The leader's fallback watch on the test process, used only when `pidfd_open` fails: end of file on the read
    /// end means the test process died. (A concurrent run's leader, forked while this pipe existed, holds the
    /// write end too and can delay that end of file: the pidfd has no such gap.)
    package let lifeline: Pipe
    /// `/dev/null`, read-only, for the workers' standard input; -1 when it could not be opened. Opened once
    /// here rather than by every worker: one `open` per run instead of one per worker.
    package let nullInput: CInt

    /// Opens every pipe, or none: on a failure the ones already open are closed before the error is thrown.
    /// - Throws: `.systemCall("pipe2")` with its errno (EMFILE when out of descriptors), also when `faults`
    ///   fails a `pipe2`.
    package init(processes: Int, faults: FaultInjector? = nil) throws(ShakedownError) {
        func makePipe() throws(ShakedownError) -> Pipe {
            if let injected = faults?.failure(.pipe2) { throw .systemCall("pipe2", errno: Errno(rawValue: injected)) }
            return try Pipe()
        }
        var results: [Pipe] = []
        var outputs: [Pipe] = []
        var opened: [Pipe] = []
        do throws(ShakedownError) {
            for _ in 0..<processes {
                let result = try makePipe()
                opened.append(result)
                results.append(result)
                let output = try makePipe()
                opened.append(output)
                outputs.append(output)
            }
            events = try makePipe()
            opened.append(events)
            commands = try makePipe()
            opened.append(commands)
            lifeline = try makePipe()
        } catch {
            for pipe in opened {
                closeQuietly(pipe.readEnd)
                closeQuietly(pipe.writeEnd)
            }
            throw error
        }
        self.results = results
        self.outputs = outputs
        nullInput = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    private var all: [Pipe] { results + outputs + [events, commands, lifeline] }

    /// In the test process, once the leader is forked.
    package func keepSupervisorEnds() {
        for pipe in results + outputs { closeQuietly(pipe.writeEnd) }
        closeQuietly(events.writeEnd)
        closeQuietly(commands.readEnd)
        closeQuietly(lifeline.readEnd)
        closeQuietly(nullInput)
    }

    /// In the leader, right after fork. The leader keeps ``nullInput`` for the workers it forks.
    package func keepLeaderEnds() {
        for pipe in results + outputs { closeQuietly(pipe.readEnd) }
        closeQuietly(events.readEnd)
        closeQuietly(commands.writeEnd)
        closeQuietly(lifeline.writeEnd)
    }

    /// In worker `index`, right after the leader forked it: only its own write ends (and ``nullInput``, which
    /// the worker moves to its standard input) stay open.
    package func keepWorkerEnds(_ index: Int) {
        for (other, pipe) in results.enumerated() where other != index { closeQuietly(pipe.writeEnd) }
        for (other, pipe) in outputs.enumerated() where other != index { closeQuietly(pipe.writeEnd) }
        closeQuietly(events.writeEnd)
        closeQuietly(commands.readEnd)
        closeQuietly(lifeline.readEnd)
    }

    /// In the test process after the run (also after a failed launch).
    package func closeSupervisorEnds() {
        for pipe in results + outputs { closeQuietly(pipe.readEnd) }
        closeQuietly(events.readEnd)
        closeQuietly(commands.writeEnd)
        closeQuietly(lifeline.writeEnd)
    }

    /// When the leader could not be forked: nothing was handed over.
    package func closeEverything() {
        for pipe in all {
            closeQuietly(pipe.readEnd)
            closeQuietly(pipe.writeEnd)
        }
        closeQuietly(nullInput)
    }
}

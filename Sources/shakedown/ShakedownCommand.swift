#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shakedown

@main
struct ShakedownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shakedown",
        abstract: "Find concurrency and race bugs: run code as many processes at once, shake the schedule, account for every process.",
        discussion: """
        shakedown demo              the racy counter against its locked twin
        shakedown run -n 8 -- CMD   8 copies: exits, crashes, hangs, leaks
        shakedown diagnose PID      where each thread of a frozen process waits
        shakedown run --shard 2/3 --seed S --repeat R --json -- CMD > shard-2.json
                                    one of 3 CI machines' share of R repetitions
        shakedown merge shard-*.json
                                    the shards as one report (failure rate, failing seeds)
        """,
        subcommands: [DemoCommand.self, RunCommand.self, DiagnoseCommand.self, MergeCommand.self]
    )

    /// ArgumentParser's `main()`, except that its messages go through `TerminalText`: they quote the rejected
    /// argument (`The value '…' is invalid`, `Unknown option '…'`), and an escape code in it must not reach the
    /// terminal raw.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let message = fullMessage(for: error)
            let code = exitCode(for: error)
            if code.isSuccess {
                if !message.isEmpty { print(message) }
            } else if !message.isEmpty {
                writeToStandardError(TerminalText.escaped(message) + "\n")
            }
            fflush(nil)
            Glibc.exit(code.rawValue)
        }
    }
}

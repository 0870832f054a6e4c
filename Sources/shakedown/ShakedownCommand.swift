import ArgumentParser

@main
struct ShakedownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shakedown",
        abstract: "Find concurrency and race bugs: run code as many processes at once, shake the schedule, account for every process.",
        discussion: """
        shakedown demo                       the racy counter and its locked twin, side by side
        shakedown run -n 8 -- ./my-tool      8 copies at once: exits, crashes, hangs, leaked processes
        shakedown diagnose PID               where every thread of a frozen process is waiting
        """,
        subcommands: [DemoCommand.self, RunCommand.self, DiagnoseCommand.self]
    )
}

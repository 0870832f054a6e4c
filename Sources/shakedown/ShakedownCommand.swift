// TEMPORARY (branch hangs): a minimal root command so `diagnose` can be built and tested here.
// The real root command lives on main; the merge replaces this file.
import ArgumentParser

@main
struct ShakedownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shakedown", subcommands: [DiagnoseCommand.self])
}

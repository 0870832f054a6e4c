#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// Runs the built `shakedown` binary (and fixtures) as real processes.
enum CLI {
    /// The folder SwiftPM built everything into: next to this test bundle.
    static var buildDirectory: String {
        if let explicit = ProcessInfo.processInfo.environment["SHAKEDOWN_FIXTURES_DIR"] { return explicit }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().path
    }

    static func path(_ name: String) -> String { buildDirectory + "/" + name }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `shakedown ARGUMENTS` to completion.
    static func shakedown(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path("shakedown"))
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting: a full pipe would block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Pids of every process on the machine whose command line contains `marker`.
    static func processes(containing marker: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(marker)
        }
    }

    static func exists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }
}

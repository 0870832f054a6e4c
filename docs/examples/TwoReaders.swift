// Python: two Process(target=read_file, args=(path,)) started, then joined, then print("done").
import Shakedown

enum TwoReaders {
    static func main() throws {
        let paths = Array(CommandLine.arguments.dropFirst(2).prefix(2))
        let results = try ProcessQueue<String>()
        let readers = try paths.map { path in
            try ForkedChild {
                let result = try CommandRunner.run(["cat", path])
                try results.put("\(path): \(result.standardOutput.count) bytes")
            }
        }
        for reader in readers { _ = try reader.join(timeout: .seconds(30)) }
        var lines: [String] = []
        while case let .item(line) = try results.get(timeout: .zero) { lines.append(line) }
        for line in lines.sorted() { print(line) }
        print("done")
    }
}

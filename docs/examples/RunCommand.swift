// Python: subprocess.run(["echo", "hello"], capture_output=True) from inside a Process.
import Shakedown

enum RunCommand {
    static func main() throws {
        let answer = try ProcessQueue<String>()
        let worker = try ForkedChild {
            let result = try CommandRunner.run(["sh", "-c", "echo hello; echo warning >&2; exit 4"], timeout: .seconds(10))
            try answer.put("pid \(result.pid > 0 ? "set" : "missing"), \(result.exit), stdout \(result.outputText.debugDescription), stderr \(result.errorText.debugDescription)")
        }
        _ = try worker.join(timeout: .seconds(30))
        print(try answer.get(timeout: .seconds(10)).item ?? "no answer")
    }
}

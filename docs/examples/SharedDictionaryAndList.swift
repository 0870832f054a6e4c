// Python: with Manager() as m: d = m.dict(); l = m.list(range(10)); a child sets d[1] = '1', d['2'] = 2,
// d[0.25] = None and reverses l.
import Shakedown

enum SharedDictionaryAndList {
    static func main() throws {
        let dictionary = try SharedObject([String: String?]())
        let list = try SharedObject(Array(0..<10))
        let child = try ForkedChild {
            try dictionary.update { d in
                d["1"] = "1"
                d["2"] = "2"
                d["0.25"] = .some(nil)
            }
            try list.update { $0.reverse() }
        }
        _ = try child.join(timeout: .seconds(10))
        let d = try dictionary.read()
        print(d.keys.sorted().map { "\($0): \(d[$0].flatMap { $0 } ?? "nil")" }.joined(separator: ", "))
        print(try list.read())
    }
}

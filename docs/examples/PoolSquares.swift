// Python: with Pool(4) as p: print(p.map(f, range(10)))   where f(x) = x * x
import Shakedown

enum PoolSquares {
    static func main() throws {
        let pool = try ProcessPool<Int, Int>(processes: 4) { x in x * x }
        let squares = try pool.map(Array(0..<10)).map { $0.value ?? -1 }
        pool.close()
        _ = try pool.join()
        print(squares)
    }
}

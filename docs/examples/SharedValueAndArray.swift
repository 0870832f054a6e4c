// Python: num = Value('d', 0.0); arr = Array('i', range(10)); a child sets num.value = 3.1415927 and negates arr.
import Shakedown

enum SharedValueAndArray {
    static func main() throws {
        let number = try SharedValue(0.0)
        let array = try SharedArray(repeating: 0, count: 10)
        for index in 0..<10 { array[index] = index }
        let child = try ForkedChild {
            number.value = 3.1415927
            for index in 0..<10 { array[index] = -array[index] }
        }
        _ = try child.join(timeout: .seconds(10))
        print(number.value)
        print(Array(array))
    }
}

import XCTest
import CShakedown

final class SmokeTests: XCTestCase {
    func testBarrierInitializes() {
        var barrier = shakedown_barrier()
        shakedown_barrier_init(&barrier, 2, 100)
        XCTAssertEqual(barrier.parties, 2)
    }
}

#if canImport(FoundationEssentials)
// FoundationEssentials has JSONEncoder without loading all of Foundation (and ICU) at every start of the tool.
import FoundationEssentials
#else
import Foundation
#endif

/// The one JSON style of the tool's output: pretty, keys sorted (so reports diff well and merge deterministically).
enum JSONCoding {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    static func decoder() -> JSONDecoder { JSONDecoder() }
}

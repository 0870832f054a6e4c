/// The samples of one measurement, one per repetition.
struct Samples {
    let name: String
    /// What one sample counts, e.g. "µs per worker".
    let unit: String
    /// Whether a larger value is better (rates) or worse (costs).
    let higherIsBetter: Bool
    private(set) var values: [Double] = []
    /// Why the measurement has no values (e.g. python3 missing), when it has none.
    var unavailable: String?

    init(_ name: String, unit: String, higherIsBetter: Bool = false) {
        self.name = name
        self.unit = unit
        self.higherIsBetter = higherIsBetter
    }

    mutating func add(_ value: Double) { values.append(value) }

    var median: Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
    var min: Double? { values.min() }
    var max: Double? { values.max() }
}

/// Formats for the Markdown table.
enum Format {
    /// A number with thousands separators and `decimals` digits after the point.
    static func number(_ value: Double?, decimals: Int = 0) -> String {
        guard let value, value.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        let whole = Int64(rounded.magnitude)
        var digits = String(whole)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        grouped = digits + grouped
        var text = (rounded < 0 ? "-" : "") + grouped
        if decimals > 0 {
            let fraction = Int64(((rounded.magnitude - Double(whole)) * scale).rounded())
            let padded = String(fraction)
            text += "." + String(repeating: "0", count: Swift.max(0, decimals - padded.count)) + padded
        }
        return text
    }

    /// A ratio like `2.31×`.
    static func ratio(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return number(value, decimals: 2) + "×"
    }
}

/// The ratios of two measurements taken in the same repetitions, pair by pair (each repetition measured both sides
/// back to back, so a busy second lands on both): their median, min and max.
struct PairedRatio {
    private let ratios: [Double]

    /// `numerator.values[i] / denominator.values[i]` for every repetition both have; empty when either is unavailable.
    init(_ numerator: Samples, _ denominator: Samples) {
        ratios = zip(numerator.values, denominator.values).compactMap { top, bottom in
            bottom > 0 ? top / bottom : nil
        }
    }

    /// The single ratio of the two medians, for measurements sampled at different rates (no pairs to form).
    init(medianOf numerator: Samples, _ denominator: Samples) {
        if let top = numerator.median, let bottom = denominator.median, bottom > 0 { ratios = [top / bottom] } else { ratios = [] }
    }

    var median: Double? {
        guard !ratios.isEmpty else { return nil }
        let sorted = ratios.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
    var min: Double? { ratios.min() }
    var max: Double? { ratios.max() }
    /// How many ratios there are (1 for a ratio of medians: no range to show).
    var count: Int { ratios.count }
}

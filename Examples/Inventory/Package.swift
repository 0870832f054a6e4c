// swift-tools-version: 6.1
import PackageDescription

// An example of Shakedown on code that was not written for it: a small inventory kept in SQLite through GRDB.
// Built and tested by the repository's scripts/test (and so by CI).
let package = Package(
    name: "Inventory",
    platforms: [.macOS(.v15)],
    products: [.library(name: "Inventory", targets: ["Inventory"])],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(name: "shakedown", path: "../.."),
    ],
    targets: [
        .target(name: "Inventory", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "InventoryTests", dependencies: [
            "Inventory",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Shakedown", package: "shakedown"),
            .product(name: "ShakedownXCTest", package: "shakedown"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

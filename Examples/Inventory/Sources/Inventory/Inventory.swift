import GRDB

/// A stock count per item, kept in an SQLite file. Each process opens its own `Inventory` (a connection must
/// never be shared across `fork`).
public final class Inventory {
    private let database: DatabaseQueue

    /// Opens (and if needed creates) the inventory at `path`. Concurrent writers wait up to 10 s for the lock.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS stock (item TEXT PRIMARY KEY, count INTEGER NOT NULL)")
        }
    }

    /// The count of `item` (0 when it was never stocked).
    public func count(of item: String) throws -> Int {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT count FROM stock WHERE item = ?", arguments: [item]) ?? 0
        }
    }

    /// Sets the count of `item`.
    public func setCount(of item: String, to count: Int) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO stock (item, count) VALUES (?, ?) ON CONFLICT(item) DO UPDATE SET count = excluded.count",
                           arguments: [item, count])
        }
    }

    /// Adds `amount` to the count of `item` — with the bug this example is about: the count is read in one
    /// transaction and written in another, so two processes restocking at once can lose one of the updates.
    public func restockReadThenWrite(_ item: String, by amount: Int) throws {
        let current = try count(of: item)
        try setCount(of: item, to: current + amount)
    }

    /// Adds `amount` to the count of `item` in one immediate transaction: the fixed twin.
    public func restock(_ item: String, by amount: Int) throws {
        try database.inTransaction(.immediate) { db in
            let current = try Int.fetchOne(db, sql: "SELECT count FROM stock WHERE item = ?", arguments: [item]) ?? 0
            try db.execute(sql: "INSERT INTO stock (item, count) VALUES (?, ?) ON CONFLICT(item) DO UPDATE SET count = excluded.count",
                           arguments: [item, current + amount])
            return .commit
        }
    }
}

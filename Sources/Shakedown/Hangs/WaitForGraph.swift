/// Who waits for whom, across threads and processes: every blocked thread points, through the lock it waits for,
/// at the lock's holders. Strongly connected parts of this graph are deadlocks: nobody in them can proceed.
///
/// Nodes are threads and, for file locks (held by a process or an open file, not a thread), processes. A process
/// node points at its threads only when every captured thread of it is itself blocked on a lock: a process with one
/// thread free to run may still release its file lock, so no cycle is claimed through it. Pure: built from
/// snapshots, it reads nothing from the system.
public struct WaitForGraph: Hashable, Sendable, Codable {
    /// One wait: `waiter` is blocked on `lock`, which `owner` holds.
    public struct Edge: Hashable, Sendable, Codable {
        /// The blocked thread.
        public var waiter: ThreadID
        /// The lock as reports name it ("pthread mutex `ledger`").
        public var lock: String
        /// The lock's identity (equal for one lock seen from several processes).
        public var lockIdentity: String
        /// The family of the lock.
        public var kind: LockWait.Kind
        /// Its holder.
        public var owner: LockWait.Owner
    }

    /// Every wait with a known holder, in waiter order.
    public var edges: [Edge]

    /// A graph of `edges`.
    public init(edges: [Edge]) {
        self.edges = edges.sorted { ($0.waiter, $0.lockIdentity) < ($1.waiter, $1.lockIdentity) }
    }

    enum Node: Hashable, Comparable {
        case thread(ThreadID)
        case process(Int32)

        static func < (lhs: Node, rhs: Node) -> Bool {
            switch (lhs, rhs) {
            case let (.thread(a), .thread(b)): return a < b
            case let (.process(a), .process(b)): return a < b
            case (.thread, .process): return true
            case (.process, .thread): return false
            }
        }
    }

    /// Successors of each node; `threadsOf` lists the captured threads of each process.
    func adjacency(threadsOf: [Int32: [ThreadID]]) -> [Node: [Node]] {
        var next: [Node: [Node]] = [:]
        var blocked = Set<ThreadID>()
        for edge in edges {
            blocked.insert(edge.waiter)
            switch edge.owner {
            case let .thread(owner): next[.thread(edge.waiter), default: []].append(.thread(owner))
            case let .process(pid): next[.thread(edge.waiter), default: []].append(.process(pid))
            case .gone: break
            }
        }
        for (pid, threads) in threadsOf where !threads.isEmpty && threads.allSatisfy(blocked.contains) {
            next[.process(pid)] = threads.map(Node.thread)
        }
        return next
    }

    /// The strongly connected components that contain a cycle (more than one node, or a node waiting for itself),
    /// each as its nodes; found with Tarjan's algorithm, ordered by their smallest node.
    static func cycles(_ next: [Node: [Node]]) -> [[Node]] {
        var index = 0
        var indices: [Node: Int] = [:], lowlink: [Node: Int] = [:]
        var stack: [Node] = [], onStack = Set<Node>()
        var components: [[Node]] = []
        // Iterative, so a long chain of waiters cannot overflow the stack.
        for root in next.keys.sorted() where indices[root] == nil {
            var work: [(node: Node, child: Int)] = [(root, 0)]
            indices[root] = index; lowlink[root] = index; index += 1
            stack.append(root); onStack.insert(root)
            while let (node, child) = work.last {
                let successors = next[node] ?? []
                if child < successors.count {
                    work[work.count - 1].child += 1
                    let successor = successors[child]
                    if indices[successor] == nil {
                        indices[successor] = index; lowlink[successor] = index; index += 1
                        stack.append(successor); onStack.insert(successor)
                        work.append((successor, 0))
                    } else if onStack.contains(successor) {
                        lowlink[node] = min(lowlink[node] ?? 0, indices[successor] ?? 0)
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last?.node { lowlink[parent] = min(lowlink[parent] ?? 0, lowlink[node] ?? 0) }
                if lowlink[node] == indices[node] {
                    var component: [Node] = []
                    while let top = stack.popLast() {
                        onStack.remove(top)
                        component.append(top)
                        if top == node { break }
                    }
                    let selfLoop = component.count == 1 && (next[node] ?? []).contains(node)
                    if component.count > 1 || selfLoop { components.append(component.sorted()) }
                }
            }
        }
        return components.sorted { ($0.first.map { [$0] } ?? []).lexicographicallyPrecedes($1.first.map { [$0] } ?? []) }
    }

    /// One way around a component: from its smallest thread, always to a successor inside it, until a node repeats;
    /// returns the loop part.
    static func walk(_ component: [Node], _ next: [Node: [Node]]) -> [Node] {
        let members = Set(component)
        guard var current = component.first else { return [] }
        var path: [Node] = [], seen: [Node: Int] = [:]
        while seen[current] == nil {
            seen[current] = path.count
            path.append(current)
            guard let successor = (next[current] ?? []).filter(members.contains).min() else { return path }
            current = successor
        }
        return Array(path[(seen[current] ?? 0)...])
    }
}

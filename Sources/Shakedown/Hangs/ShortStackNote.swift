/// Explains a stack that ends too early without an unwinding error: libunwind's `unw_step` returns 0 ("no more
/// frames") when it finds neither unwind information nor a frame-pointer chain for a frame, which reads like a
/// complete one-frame stack. Typical of static binaries, whose `.eh_frame` has no `PT_GNU_EH_FRAME` index that
/// libunwind could search.
enum ShortStackNote {
    /// Outermost functions of a real stack: ending there is natural.
    static let entryPoints: Set<String> = [
        "_start", "clone", "clone3", "__clone", "__clone3", "__clone_internal", "start_thread", "thread_start",
        "__libc_start_main", "__libc_start_call_main", "main",
    ]

    /// Stacks no longer than this are checked; deeper ones ended somewhere a reader can judge.
    static let shortLength = 2

    /// Sets ``ThreadSnapshot/unwindStopReason`` for every thread whose complete-looking stack is short and does not
    /// end at an entry point. Costs one read of the ELF program headers per module involved (cached per call).
    static func annotate(_ threads: inout [ThreadSnapshot]) {
        var indexed: [String: Bool] = [:]
        for position in threads.indices {
            let thread = threads[position]
            guard thread.unwindStopReason == nil, !thread.frames.isEmpty, thread.frames.count <= shortLength,
                  thread.framesCut == 0, let last = thread.frames.last
            else { continue }
            if let function = last.function, entryPoints.contains(function) { continue }
            let module = last.module ?? "?"
            let hasIndex: Bool
            if let known = indexed[module] {
                hasIndex = known
            } else {
                // PT_GNU_EH_FRAME (0x6474e550): the binary-search table libunwind looks up unwind entries in.
                hasIndex = ELFFile.programHeaders(path: module)?.contains { $0.type == 0x6474_E550 } ?? true
                indexed[module] = hasIndex
            }
            let count = thread.frames.count
            let name = last.moduleName ?? module
            threads[position].unwindStopReason = "the stack ends after \(count) frame\(count == 1 ? "" : "s") in \(name), "
                + "which is not a thread's entry point: "
                + (hasIndex
                    ? "libunwind found no unwind entry for this code and no frame-pointer chain to follow"
                    : "\(name) has no unwind index (no PT_GNU_EH_FRAME / .eh_frame_hdr, as in static binaries) and no "
                        + "frame pointers, so libunwind cannot find the caller; rebuild with -Wl,--eh-frame-hdr "
                        + "or -fno-omit-frame-pointer to see the whole stack")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns captured instruction pointers into ``Frame``s: module and ELF address from the memory map, then names
/// and file:line from the symbolizer (one batch for the whole process), or libunwind's names without one.
struct FrameBuilder {
    let maps: ProcessMaps
    let symbolizer: Symbolizer?

    func frames(for threads: [RawThread]) -> (threads: [ThreadSnapshot], notes: [String]) {
        let pageSize = UInt64(max(4096, sysconf(Int32(_SC_PAGESIZE))))
        var layouts: [String: ELFLayout?] = [:]
        var notes: [String] = []
        var located: [[(frame: Frame, location: Symbolizer.Location?)]] = []

        for thread in threads where !thread.vanished {
            var frames: [(Frame, Symbolizer.Location?)] = []
            for (index, address) in thread.instructionPointers.enumerated() {
                var frame = Frame(index: index, address: address)
                // A caller's return address points after its call instruction, possibly into the next line or
                // function: look up the byte before it. Frame 0 is exactly where the thread stopped.
                let lookup = index == 0 ? address : address &- 1
                var location: Symbolizer.Location?
                if let mapping = maps.mapping(containing: lookup), !mapping.path.isEmpty {
                    let path = mapping.path.hasSuffix(" (deleted)") ? String(mapping.path.dropLast(10)) : mapping.path
                    frame.module = path
                    if path.hasPrefix("/"), !path.hasPrefix("/memfd:") {
                        if layouts[path] == nil { layouts[path] = .some(ELFLayout(path: path)) }
                        let layout = layouts[path] ?? nil
                        frame.offset = layout?.fileAddress(of: lookup, in: mapping, pageSize: pageSize)
                            ?? (lookup - mapping.start + mapping.fileOffset)
                        location = frame.offset.map { Symbolizer.Location(module: path, offset: $0) }
                    }
                }
                if symbolizer == nil, index < thread.procedureNames.count, !thread.procedureNames[index].name.isEmpty {
                    let name = thread.procedureNames[index].name
                    frame.function = Demangler.demangle(name)
                    if frame.function != name { frame.symbol = name }
                }
                frames.append((frame, location))
            }
            located.append(frames)
        }

        if let symbolizer {
            let locations = located.flatMap { $0.compactMap(\.location) }
            do throws(ShakedownError) {
                let symbols = try symbolizer.symbolize(locations)
                var answers: [Symbolizer.Location: Symbolizer.Symbol] = [:]
                for (location, symbol) in zip(locations, symbols) { answers[location] = symbol }
                for threadIndex in located.indices {
                    for frameIndex in located[threadIndex].indices {
                        guard let location = located[threadIndex][frameIndex].location,
                              let symbol = answers[location] else { continue }
                        located[threadIndex][frameIndex].frame.function = symbol.function
                        if symbol.linkageName != symbol.function { located[threadIndex][frameIndex].frame.symbol = symbol.linkageName }
                        located[threadIndex][frameIndex].frame.file = symbol.file
                        located[threadIndex][frameIndex].frame.line = symbol.line
                    }
                }
            } catch {
                notes.append("symbolization failed (\(error)); frames show module and offset only")
            }
        }

        var snapshots: [ThreadSnapshot] = []
        for (thread, frames) in zip(threads.filter { !$0.vanished }, located) {
            snapshots.append(ThreadSnapshot(
                tid: thread.tid, name: thread.name, state: thread.state, wchan: thread.wchan,
                systemCall: thread.systemCall, frames: frames.map(\.frame), framesCut: thread.framesCut,
                unwindStopReason: thread.stopReason))
        }
        return (snapshots, notes)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The Swift runtime's demangler (exported by libswiftCore, not declared in any header).
@_silgen_name("swift_demangle")
private func _swift_demangle(
    _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
    _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?

/// Turns linkage names into readable ones in-process: Swift through the runtime's `swift_demangle`, C++ through
/// the C++ runtime's `__cxa_demangle` (looked up with dlsym, so nothing links against libstdc++ for it). Plain C
/// names and anything that fails to demangle are returned unchanged. Costs microseconds per name.
enum Demangler {
    private typealias CXADemangle = @convention(c) (
        UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<CInt>?
    ) -> UnsafeMutablePointer<CChar>?

    private static let cxaDemangle: CXADemangle? = {
        // RTLD_DEFAULT is a null handle in glibc.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__cxa_demangle") else { return nil }
        return unsafeBitCast(symbol, to: CXADemangle.self)
    }()

    static func isSwift(_ name: String) -> Bool {
        name.hasPrefix("$s") || name.hasPrefix("$S") || name.hasPrefix("_T0") || name.hasPrefix("_$s")
            || name.hasPrefix("$e")
    }

    static func demangle(_ name: String) -> String {
        if isSwift(name) {
            let demangled = name.withCString { pointer -> String? in
                guard let result = _swift_demangle(pointer, strlen(pointer), nil, nil, 0) else { return nil }
                defer { free(result) }
                return String(cString: result)
            }
            return demangled ?? name
        }
        if name.hasPrefix("_Z"), let cxaDemangle {
            let demangled = name.withCString { pointer -> String? in
                var status: CInt = 0
                guard let result = cxaDemangle(pointer, nil, nil, &status), status == 0 else { return nil }
                defer { free(result) }
                return String(cString: result)
            }
            return demangled ?? name
        }
        return name
    }
}

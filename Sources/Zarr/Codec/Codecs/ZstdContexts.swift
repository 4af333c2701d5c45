import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One zstd compression and one decompression context per thread, reused from chunk to chunk.
/// A context owns a workspace of up to a few MiB; creating one per chunk costs an allocation
/// and its page faults every time, which dominates when chunks are small (sharded arrays).
/// Each context is used by its own thread only and is freed when the thread exits.
enum ZstdContexts {
    private static let compressionKey: pthread_key_t? = {
        var key = pthread_key_t()
        guard pthread_key_create(&key, { p in ZSTD_freeCCtx(OpaquePointer(p)) }) == 0 else { return nil }
        return key
    }()

    private static let decompressionKey: pthread_key_t? = {
        var key = pthread_key_t()
        guard pthread_key_create(&key, { p in ZSTD_freeDCtx(OpaquePointer(p)) }) == 0 else { return nil }
        return key
    }()

    /// Runs `body` with this thread's compression context, reset to default parameters.
    static func withCompression<R>(_ body: (OpaquePointer) throws(ZarrError) -> R) throws(ZarrError) -> R {
        if let key = compressionKey {
            let ctx: OpaquePointer
            if let p = pthread_getspecific(key) {
                ctx = OpaquePointer(p)
                ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters)
            } else {
                guard let c = ZSTD_createCCtx() else { throw .codecFailure(codec: "zstd", reason: "out of memory") }
                ctx = c
                if pthread_setspecific(key, UnsafeRawPointer(c)) != 0 {
                    defer { ZSTD_freeCCtx(c) }
                    return try body(c)
                }
            }
            return try body(ctx)
        }
        guard let c = ZSTD_createCCtx() else { throw .codecFailure(codec: "zstd", reason: "out of memory") }
        defer { ZSTD_freeCCtx(c) }
        return try body(c)
    }

    /// Runs `body` with this thread's decompression context.
    static func withDecompression<R>(_ body: (OpaquePointer) throws(ZarrError) -> R) throws(ZarrError) -> R {
        if let key = decompressionKey {
            if let p = pthread_getspecific(key) { return try body(OpaquePointer(p)) }
            guard let c = ZSTD_createDCtx() else { throw .codecFailure(codec: "zstd", reason: "out of memory") }
            if pthread_setspecific(key, UnsafeRawPointer(c)) != 0 {
                defer { ZSTD_freeDCtx(c) }
                return try body(c)
            }
            return try body(c)
        }
        guard let c = ZSTD_createDCtx() else { throw .codecFailure(codec: "zstd", reason: "out of memory") }
        defer { ZSTD_freeDCtx(c) }
        return try body(c)
    }
}

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
        try withContext(compressionKey, create: { ZSTD_createCCtx() }, free: { _ = ZSTD_freeCCtx($0) },
                        reuse: { _ = ZSTD_CCtx_reset($0, ZSTD_reset_session_and_parameters) }, body)
    }

    /// Runs `body` with this thread's decompression context.
    static func withDecompression<R>(_ body: (OpaquePointer) throws(ZarrError) -> R) throws(ZarrError) -> R {
        try withContext(decompressionKey, create: { ZSTD_createDCtx() }, free: { _ = ZSTD_freeDCtx($0) }, reuse: { _ in }, body)
    }

    /// This thread's context under `key` (made on first use and kept; `reuse` prepares a kept
    /// one). Without a key, or when the thread cannot keep it, a context lives for one call.
    private static func withContext<R>(
        _ key: pthread_key_t?, create: () -> OpaquePointer?, free: (OpaquePointer) -> Void, reuse: (OpaquePointer) -> Void,
        _ body: (OpaquePointer) throws(ZarrError) -> R
    ) throws(ZarrError) -> R {
        if let key, let p = pthread_getspecific(key) {
            let ctx = OpaquePointer(p)
            reuse(ctx)
            return try body(ctx)
        }
        guard let ctx = create() else { throw .codecFailure(codec: "zstd", reason: "out of memory") }
        if let key, pthread_setspecific(key, UnsafeRawPointer(ctx)) == 0 { return try body(ctx) }
        defer { free(ctx) }
        return try body(ctx)
    }
}

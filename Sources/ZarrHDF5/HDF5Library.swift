import CHDF5
import Zarr

/// The one door to libhdf5.
///
/// Debian's libhdf5 is built without thread safety: two threads inside it at once corrupt its
/// state. Every HDF5 call of this module therefore runs as a job on `executor`, a pool of one
/// thread shared by every file of the process (a serial executor, immutable). Jobs are short:
/// metadata, chunk addresses, attribute reads. Chunk bytes are read and written with `pread` /
/// `pwrite` outside the library where the layout allows, and decoded or encoded by the Zarr
/// codecs on their own threads.
enum HDF5Library {
    /// The serial executor for libhdf5 calls.
    static let executor = BlockingIOPool(threads: 1)

    /// Library set-up, run once, on the executor's thread, before the first call: no exit
    /// handler, error printing off (errors are read from the stack instead), the LZF filter
    /// registered.
    private static let setup: Void = {
        // No clean-up handler at exit: it would run on whatever thread exits, outside this
        // executor, while a job may still be in the library. Files are closed by `close()`.
        _ = H5dont_atexit()
        _ = H5open()
        swh5_silence_errors()
        LZFFilter.register()
    }()

    /// Runs `body` on the serial executor. A task cancelled before the job starts gets
    /// `CancellationError`; a started job runs to its end.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await executor.run {
            _ = setup
            return try body()
        }
    }

    /// The library's error stack as one message, from the call down to the cause (cleared afterwards).
    static func lastError() -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        buffer.withUnsafeMutableBufferPointer { swh5_last_error($0.baseAddress) }
        let message = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return message.isEmpty ? "libhdf5 reported a failure" : message
    }

    /// Clears the error stack after a failure that was expected (a probe).
    static func clearErrors() { swh5_clear_errors() }

    /// A typed error for a failed call: `what` failed on `key`, with the library's message.
    static func failure(_ what: String, _ key: String) -> ZarrError {
        .io(key: key, reason: "HDF5 \(what) failed: \(lastError())")
    }

    /// Returns `id`, or throws when it is negative (the library's failure value).
    @discardableResult
    static func check(_ id: hid_t, _ what: String, _ key: String) throws(ZarrError) -> hid_t {
        if id < 0 { throw failure(what, key) }
        return id
    }

    /// Throws when `status` is negative.
    static func check(_ status: herr_t, _ what: String, _ key: String) throws(ZarrError) {
        if status < 0 { throw failure(what, key) }
    }
}

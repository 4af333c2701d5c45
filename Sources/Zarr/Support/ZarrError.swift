/// Every error the Zarr engine reports. Each case says what is wrong and where.
public enum ZarrError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A key or node path that is not allowed (`..`, absolute, NUL, backslash, empty segment).
    case invalidKey(String, reason: String)
    /// A metadata document that is missing or cannot be used.
    case invalidMetadata(path: String, reason: String)
    /// No node at this path.
    case nodeNotFound(path: String)
    /// A node of the other kind (array vs group) at this path.
    case nodeKindMismatch(path: String, expected: String)
    /// A data type this engine does not know.
    case unsupportedDataType(String)
    /// A codec this engine does not know, or a configuration it cannot honour.
    case unsupportedCodec(String)
    /// An invalid codec configuration.
    case invalidCodecConfiguration(codec: String, reason: String)
    /// A chunk that cannot be decoded (truncated, corrupt, wrong size, checksum mismatch).
    case corruptChunk(key: String, reason: String)
    /// A codec failed on its own (compression library error).
    case codecFailure(codec: String, reason: String)
    /// A selection that does not fit the array.
    case invalidSelection(String)
    /// Values whose shape, type or count do not fit the target.
    case valueMismatch(String)
    /// The store cannot do this (read-only, cannot list, ...).
    case unsupportedOperation(String)
    /// An I/O error from the store.
    case io(key: String, reason: String)
    /// A destination the write refuses to touch (not empty and not a Zarr store, an existing
    /// store without permission to replace it, inside or around the source, ...).
    case refusedDestination(String, reason: String)
    /// Another writer holds the store, or replaced it while this one waited.
    case storeBusy(String, reason: String)
    /// Memory that this process cannot allocate: `what` needs `bytes` (when known; `nil` when
    /// the size overflows) and only `available` can be had (when known).
    case outOfMemory(what: String, bytes: Int?, available: Int?)

    /// A readable, one-line description.
    public var description: String {
        switch self {
        case .invalidKey(let k, let r): return "invalid key '\(k)': \(r)"
        case .invalidMetadata(let p, let r): return "invalid metadata at '\(p)': \(r)"
        case .nodeNotFound(let p): return "no Zarr node at '\(p)'"
        case .nodeKindMismatch(let p, let e): return "the node at '\(p)' is not \(e)"
        case .unsupportedDataType(let d): return "unsupported data type \(d)"
        case .unsupportedCodec(let c): return "unsupported codec \(c)"
        case .invalidCodecConfiguration(let c, let r): return "invalid configuration for codec '\(c)': \(r)"
        case .corruptChunk(let k, let r): return "corrupt chunk '\(k)': \(r)"
        case .codecFailure(let c, let r): return "codec '\(c)' failed: \(r)"
        case .invalidSelection(let s): return "invalid selection: \(s)"
        case .valueMismatch(let s): return "values do not fit: \(s)"
        case .unsupportedOperation(let s): return "unsupported operation: \(s)"
        case .io(let k, let r): return "I/O error on '\(k)': \(r)"
        case .refusedDestination(let p, let r): return "refusing to write to '\(p)': \(r)"
        case .storeBusy(let p, let r): return "'\(p)' is busy: \(r)"
        case .outOfMemory(let w, let b, let a):
            let need = b.map { "needs \($0) bytes" } ?? "needs more bytes than can be counted"
            return "out of memory: \(w) \(need)" + (a.map { "; \($0) can be allocated" } ?? "")
        }
    }
}

/// Every error the Zarr engine reports. Each case says what is wrong and where.
public enum ZarrError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A key or node path that is not allowed (`..`, absolute, NUL, backslash, empty segment).
    case invalidKey(String, reason: String)
    /// A store entry that is neither a regular file nor a directory (a symbolic link below a
    /// local store's root, a named pipe, a socket, a device): local stores read, list and
    /// descend into regular files and directories only, and follow no symbolic link below their
    /// root, so that a read never blocks on a pipe, never leaves the store and never loops.
    case unsupportedEntry(key: String, kind: SpecialFileKind)
    /// A file name in a local store that is not valid UTF-8, so that no key can name it (the
    /// directory is given as a key prefix, the name with its invalid bytes as `\xNN`).
    case invalidEntryName(directory: String, name: String)
    /// A value (or the requested part of one) larger than the limit set for reading it: a
    /// metadata document over the store's `ReadLimits`, or a chunk larger than its decoded
    /// size allows. Checked before the bytes are read.
    case valueTooLarge(key: String, size: Int, limit: Int)
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
        case .unsupportedEntry(let k, let kind):
            return kind == .symbolicLink
                ? "'\(k)' is a symbolic link: symbolic links below a store's root are not followed"
                : "'\(k)' is a \(kind.rawValue), not a regular file or directory: it is not read"
        case .invalidEntryName(let d, let n):
            return "the directory '\(d.isEmpty ? "/" : d)' holds a name that is not valid UTF-8 ('\(n)'): no key can name it"
        case .valueTooLarge(let k, let size, let limit):
            return "'\(k)' is \(size) bytes, more than the \(limit) bytes allowed for it: not read"
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

import Foundation
import Zarr
#if canImport(Glibc)
import Glibc
#endif

/// Values files of `anndata zarr read/write`, in the packed form of `NDArray.packedBytes()`.
enum ValuesFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw ZarrError.io(key: path, reason: "cannot read the file")
        }
        return [UInt8](d)
    }

    /// Writes `bytes` to `path`. A regular file (or a new one) is written to a temporary file
    /// beside it and renamed into place; anything else (`/dev/null`, a pipe) is written
    /// directly, never replaced.
    static func write(_ bytes: [UInt8], to path: String) throws {
        var st = stat()
        let special = stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG
        let target = special ? path : path + ".partial-\(getpid())"
        let flags = special ? O_WRONLY | O_CLOEXEC : O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        let fd = open(target, flags, 0o644)
        guard fd >= 0 else { throw ZarrError.io(key: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count, let base = raw.baseAddress {
                let n = Glibc.write(fd, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                done += n
            }
        }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            if !special { unlink(target) }
            throw ZarrError.io(key: path, reason: "cannot write: \(failure)")
        }
        if !special, rename(target, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(target)
            throw ZarrError.io(key: path, reason: "cannot rename into place: \(reason)")
        }
    }
}

/// Parses `start:stop,start:stop` into ranges.
enum RegionArgument {
    static func parse(_ text: String, rank: Int) throws -> [Range<Int>] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == rank else {
            throw ZarrError.invalidSelection("'\(text)' has \(parts.count) dimensions; the array has \(rank)")
        }
        return try parts.map { p in
            let ends = p.split(separator: ":", omittingEmptySubsequences: false)
            guard ends.count == 2, let lo = Int(ends[0].trimmingCharacters(in: .whitespaces)),
                let hi = Int(ends[1].trimmingCharacters(in: .whitespaces)), lo >= 0, hi >= lo
            else { throw ZarrError.invalidSelection("'\(p)' is not start:stop") }
            return lo..<hi
        }
    }
}

import ArgumentParser
import Zarr
#if canImport(Glibc)
import Glibc
#endif

/// `--stats`: counts the requests and bytes of each store a command uses and prints them on
/// standard error when the command ends.
struct StatsOption: ParsableArguments {
    @Flag(help: "Print the requests and bytes of each store on standard error when done.") var stats = false

    /// Counters for one store, or `nil` without `--stats`.
    func metrics() -> StoreMetrics? { stats ? StoreMetrics() : nil }

    /// Prints one line per store that was counted.
    func report(_ stores: [(label: String, location: String, metrics: StoreMetrics?)]) {
        for s in stores {
            guard let m = s.metrics?.snapshot else { continue }
            StandardError.write("stats: " + Self.describe(m, label: s.label, location: s.location) + "\n")
        }
    }

    /// `source s3://b/p: 12 requests (GET 10, HEAD 2), 1.2 MiB received, 0 B sent, 0 retries, 0 failures`.
    static func describe(_ m: StoreMetrics.Snapshot, label: String, location: String) -> String {
        let methods = m.requestsByMethod.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(label) \(location): \(m.requests) requests" + (methods.isEmpty ? "" : " (\(methods))")
            + ", \(ByteCount.human(m.bytesReceived)) received, \(ByteCount.human(m.bytesSent)) sent"
            + ", \(m.retries) retries, \(m.failures) failures"
    }
}

/// Byte counts for people.
enum ByteCount {
    /// `123 B`, `1.5 KiB`, `12.0 MiB`, ...
    static func human(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        if i == 0 { return "\(bytes) B" }
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[i])"
    }
}

/// Writes to standard error, unbuffered.
enum StandardError {
    static func write(_ text: String) {
        var t = text
        t.withUTF8 { buf in
            var done = 0
            while done < buf.count, let base = buf.baseAddress {
                let n = Glibc.write(2, base + done, buf.count - done)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                done += n
            }
        }
    }

    /// Whether standard error is a terminal (progress is shown only then).
    static var isTerminal: Bool { isatty(2) == 1 }
}

/// One-line progress on a terminal (rewritten in place); silent when standard error is not a
/// terminal, so piped or logged output carries nothing extra.
final class ProgressLine: Sendable {
    let enabled: Bool

    init(enabled: Bool = StandardError.isTerminal) { self.enabled = enabled }

    /// Replaces the line with `text`.
    func update(_ text: String) {
        guard enabled else { return }
        StandardError.write("\r\u{1B}[2K" + text)
    }

    /// Clears the line.
    func finish() {
        guard enabled else { return }
        StandardError.write("\r\u{1B}[2K")
    }
}

/// A selection of observations or variables, as anndata's `adata[obs, var]` takes them.
public enum AxisSelection: Sendable, Hashable {
    /// Every position, in order.
    case all
    /// A range of positions.
    case range(Range<Int>)
    /// Positions in any order, repeats allowed.
    case indices([Int])
    /// One flag per position (`true` = kept), in order.
    case mask([Bool])
    /// Names from `obs_names` / `var_names`, in the given order (repeats allowed when the
    /// index itself has no repeated names, as anndata allows).
    case names([String])
}

extension AxisSelection {
    /// The positions this selection keeps over an axis of `extent` (`nil` for `.all`), checked;
    /// `names` are looked up in the index `labels` loads (called only for `.names`).
    func positions(
        extent: Int, axis: String, labels: () async throws(AnnDataError) -> [String?]
    ) async throws(AnnDataError) -> [Int]? {
        switch self {
        case .all: return nil
        case .range(let r):
            guard r.lowerBound >= 0, r.upperBound <= extent else {
                throw .invalidElement(path: axis, reason: "range \(r) is outside 0..<\(extent)")
            }
            return Array(r)
        case .indices(let idx):
            if let bad = idx.first(where: { $0 < 0 || $0 >= extent }) {
                throw .invalidElement(path: axis, reason: "position \(bad) is outside 0..<\(extent)")
            }
            return idx
        case .mask(let m):
            guard m.count == extent else {
                throw .shapeMismatch(path: axis, reason: "a mask of \(m.count) values for \(extent) \(axis == "obs" ? "observations" : "variables")")
            }
            return m.indices.filter { m[$0] }
        case .names(let names):
            let all = try await labels()
            var position: [String: Int] = [:]
            position.reserveCapacity(all.count)
            var repeated: String?
            for (i, l) in all.enumerated() {
                guard let l else { continue }
                if position.updateValue(i, forKey: l) != nil, repeated == nil { repeated = l }
            }
            var out: [Int] = []
            out.reserveCapacity(names.count)
            var missing: [String] = []
            for n in names {
                if let p = position[n] { out.append(p) } else { missing.append(n) }
            }
            if !missing.isEmpty {
                let shown = missing.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
                throw .invalidElement(path: axis, reason: "\(missing.count) name\(missing.count == 1 ? " is" : "s are") not in \(axis)_names: \(shown)\(missing.count > 5 ? ", ..." : "")")
            }
            if let repeated {
                // pandas' get_indexer needs unique labels, so anndata refuses names here.
                throw .invalidElement(path: axis, reason: "\(axis)_names are not unique ('\(repeated)' repeats), so rows cannot be selected by name")
            }
            return out
        }
    }
}

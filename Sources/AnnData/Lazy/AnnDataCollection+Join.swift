extension AnnDataCollection.Join {
    /// The names of stores whose names are `lists` (each unique), aligned as anndata aligns
    /// indexes (pandas' `Index.intersection` / `Index.union`, folded from the first list):
    /// `inner` keeps the first list's order; `outer` is the sorted union (by code point), except
    /// that equal lists, or an empty one, leave the other unchanged.
    public func aligned(_ lists: [[String]]) -> [String] {
        guard var out = lists.first else { return [] }
        for next in lists.dropFirst() {
            if out == next { continue }
            switch self {
            case .inner:
                let keep = Set(next)
                out = out.filter { keep.contains($0) }
            case .outer:
                if next.isEmpty { continue }
                if out.isEmpty { out = next; continue }
                out = Array(Set(out).union(next)).sorted(by: NaturalOrder.codePointLess)
            }
        }
        return out
    }
}

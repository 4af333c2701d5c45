/// How `LazyAnnData.concat` joins stores along obs: the arguments of anndata's
/// `concat(adatas, axis="obs", join=, merge="same", label=, keys=, index_unique=)`.
public struct ConcatOptions: Sendable, Hashable {
    /// How the variables are aligned (`inner`: the genes every store has; `outer`: all).
    public var join: AnnDataCollection.Join
    /// The name of an obs column (categorical) telling which store each cell came from.
    public var label: String?
    /// One name per store for `label` and `indexUnique` (default "0", "1", ...).
    public var keys: [String]?
    /// When set, each obs name gets this separator and its store's key appended.
    public var indexUnique: String?

    /// Options with anndata's defaults (`inner`, no label, keys "0", "1", ...).
    public init(join: AnnDataCollection.Join = .inner, label: String? = nil, keys: [String]? = nil, indexUnique: String? = nil) {
        self.join = join
        self.label = label
        self.keys = keys
        self.indexUnique = indexUnique
    }
}

/// The rows `rows` of a lazy frame, as a frame a query reads (only the columns it names, and
/// only the chunks of those rows).
struct SelectedFrame: QueryFrame {
    let frame: LazyDataFrame
    let rows: [Int]?

    var rowCount: Int { rows?.count ?? frame.rowCount }
    var columnNames: [String] { frame.columnNames }
    func queryColumn(_ name: String) async throws(AnnDataError) -> Column { try await frame.column(name, rows: rows) }
    func queryIndex() async throws(AnnDataError) -> Column { try await frame.index(rows: rows) }
}

extension LazyDataFrame: QueryFrame {
    /// Column `name`, every row (reads that column only).
    public func queryColumn(_ name: String) async throws(AnnDataError) -> Column { try await column(name) }
    /// The index, every row.
    public func queryIndex() async throws(AnnDataError) -> Column { try await index() }
}

extension LazyAnnDataView {
    /// The observations of this view for which `query` holds, in this view's order. Reads only
    /// the `obs` columns the query names (at this view's rows).
    public func obs(where query: Query) async throws(AnnDataError) -> LazyAnnDataView {
        let mask = try await query.evaluate(on: SelectedFrame(frame: base.obs, rows: obsPositions), path: "obs")
        return try await select(obs: .mask(mask))
    }

    /// The variables of this view for which `query` holds, in this view's order. Reads only
    /// the `var` columns the query names.
    public func `var`(where query: Query) async throws(AnnDataError) -> LazyAnnDataView {
        let mask = try await query.evaluate(on: SelectedFrame(frame: base.var, rows: varPositions), path: "var")
        return try await select(var: .mask(mask))
    }
}

extension LazyAnnData {
    /// The observations for which `query` holds, in store order (reads only the columns it names).
    public func obs(where query: Query) async throws(AnnDataError) -> LazyAnnDataView { try await view.obs(where: query) }

    /// The variables for which `query` holds, in store order (reads only the columns it names).
    public func `var`(where query: Query) async throws(AnnDataError) -> LazyAnnDataView { try await view.var(where: query) }
}

import Foundation

/// Heatmaps in the style of ROME's causal-tracing figures, as a standalone SVG: one panel per
/// kind (block outputs, MLP, attention), rows = tokens (subject tokens starred), columns = layers,
/// colour from white (the panel's minimum) to the kind's colour (its maximum).
public struct TraceHeatmap: Sendable {
    public struct Panel: Sendable {
        public var kind: TraceKind
        /// `[row][layer]`; nil cells are drawn grey.
        public var values: [[Double?]]
        public var xLabel: String
        public init(kind: TraceKind, values: [[Double?]], xLabel: String) {
            self.kind = kind
            self.values = values
            self.xLabel = xLabel
        }
    }

    public var title: String
    public var rowLabels: [String]
    /// Rows drawn with a star (the subject's tokens).
    public var markedRows: Set<Int>
    public var panels: [Panel]
    /// What the colour measures, e.g. "p(French)".
    public var valueLabel: String

    public init(title: String, rowLabels: [String], markedRows: Set<Int>, panels: [Panel], valueLabel: String) {
        self.title = title
        self.rowLabels = rowLabels
        self.markedRows = markedRows
        self.panels = panels
        self.valueLabel = valueLabel
    }

    static func colour(_ kind: TraceKind) -> (r: Double, g: Double, b: Double) {
        switch kind {
        case .hidden: return (74, 20, 134)     // purple
        case .mlp: return (0, 90, 50)          // green
        case .attention: return (153, 0, 13)   // red
        }
    }

    public func render() -> String {
        let cell = (w: max(12.0, min(28.0, 360.0 / Double(max(1, panels.first?.values.first?.count ?? 1)))), h: 20.0)
        let labelWidth = 12.0 + 7.0 * Double(rowLabels.map(\.count).max() ?? 4)
        let layers = panels.first?.values.first?.count ?? 0
        let panelWidth = labelWidth + cell.w * Double(layers) + 90
        let top = 64.0, rowsHeight = cell.h * Double(rowLabels.count)
        let width = panelWidth * Double(panels.count) + 20, height = top + rowsHeight + 60
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(Self.escape(title))</text>

        """
        for (p, panel) in panels.enumerated() {
            let x0 = 10 + Double(p) * panelWidth + labelWidth
            let present = panel.values.flatMap { $0.compactMap { $0 } }
            let low = present.min() ?? 0, high = present.max() ?? 1
            let span = high > low ? high - low : 1
            let (r, g, b) = Self.colour(panel.kind)
            func fill(_ v: Double?) -> String {
                guard let v else { return "#dddddd" }
                let f = (v - low) / span
                func mix(_ c: Double) -> Int { Int((255 - (255 - c) * f).rounded()) }
                return String(format: "#%02x%02x%02x", mix(r), mix(g), mix(b))
            }
            svg += "<text x=\"\(x0 + cell.w * Double(layers) / 2)\" y=\"48\" text-anchor=\"middle\" font-size=\"12\">Impact of \(Self.escape(panel.kind.title))</text>\n"
            for (row, label) in rowLabels.enumerated() {
                let y = top + Double(row) * cell.h
                let text = markedRows.contains(row) ? label + "*" : label
                svg += "<text x=\"\(x0 - 6)\" y=\"\(y + cell.h * 0.7)\" text-anchor=\"end\" font-size=\"11\" xml:space=\"preserve\">\(Self.escape(text))</text>\n"
                for l in 0..<layers {
                    let v = row < panel.values.count && l < panel.values[row].count ? panel.values[row][l] : nil
                    let title = v.map { String(format: "%@, layer %d: %.4f", Self.escape(label), l, $0) } ?? "no data"
                    svg += "<rect x=\"\(x0 + Double(l) * cell.w)\" y=\"\(y)\" width=\"\(cell.w)\" height=\"\(cell.h)\" fill=\"\(fill(v))\"><title>\(title)</title></rect>\n"
                }
            }
            // Layer ticks.
            let step = layers <= 16 ? 1 : layers <= 40 ? 5 : 10
            for l in stride(from: 0, to: layers, by: step) {
                svg += "<text x=\"\(x0 + (Double(l) + 0.5) * cell.w)\" y=\"\(top + rowsHeight + 14)\" text-anchor=\"middle\" font-size=\"10\">\(l)</text>\n"
            }
            svg += "<text x=\"\(x0 + cell.w * Double(layers) / 2)\" y=\"\(top + rowsHeight + 32)\" text-anchor=\"middle\" font-size=\"11\">\(Self.escape(panel.xLabel))</text>\n"
            // Colour bar.
            let barX = x0 + cell.w * Double(layers) + 12, barHeight = max(60, rowsHeight)
            for i in 0..<20 {
                let f = 1 - Double(i) / 19
                svg += "<rect x=\"\(barX)\" y=\"\(top + Double(i) * barHeight / 20)\" width=\"12\" height=\"\(barHeight / 20 + 0.5)\" fill=\"\(fill(low + f * span))\"/>\n"
            }
            svg += "<text x=\"\(barX + 16)\" y=\"\(top + 9)\" font-size=\"10\">\(String(format: "%.3g", high))</text>\n"
            svg += "<text x=\"\(barX + 16)\" y=\"\(top + barHeight)\" font-size=\"10\">\(String(format: "%.3g", low))</text>\n"
            svg += "<text x=\"\(barX + 6)\" y=\"\(top + barHeight + 16)\" text-anchor=\"middle\" font-size=\"10\">\(Self.escape(valueLabel))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

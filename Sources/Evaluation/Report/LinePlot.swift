import Foundation

/// Small-multiple line charts as a standalone SVG: one panel per metric, the number of edits on
/// the x axis, one coloured line per method, a shared legend.
public struct LinePlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        /// (x, y) points, x ascending.
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public struct Panel: Sendable {
        public var title: String
        public var yLabel: String
        public var series: [Series]
        /// Fixed y range (e.g. 0…100 for percentages), or nil to fit the data.
        public var yRange: ClosedRange<Double>?
        public init(title: String, yLabel: String, series: [Series], yRange: ClosedRange<Double>? = nil) {
            self.title = title
            self.yLabel = yLabel
            self.series = series
            self.yRange = yRange
        }
    }

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    public var columns = 3
    public var panelWidth = 340.0
    public var panelHeight = 230.0

    public init(title: String, xLabel: String, panels: [Panel]) {
        self.title = title
        self.xLabel = xLabel
        self.panels = panels
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    /// The SVG document.
    public func render() -> String {
        let rows = (panels.count + columns - 1) / columns
        let margin = (left: 58.0, right: 16.0, top: 34.0, bottom: 44.0)
        let header = 70.0
        let legendHeight = 30.0
        let width = Double(columns) * panelWidth
        let height = header + Double(rows) * panelHeight + legendHeight
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="30" text-anchor="middle" font-size="18" font-weight="bold">\(Self.escape(title))</text>

        """
        // Legend: every series name once, in first-seen order.
        var names: [String] = []
        for panel in panels { for s in panel.series where !names.contains(s.name) { names.append(s.name) } }
        let legendY = header - 16
        var legendX = width / 2 - Double(names.count) * 60
        for (i, name) in names.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            svg += "<line x1=\"\(legendX)\" y1=\"\(legendY - 4)\" x2=\"\(legendX + 22)\" y2=\"\(legendY - 4)\" stroke=\"\(color)\" stroke-width=\"3\"/>"
            svg += "<text x=\"\(legendX + 28)\" y=\"\(legendY)\" font-size=\"13\">\(Self.escape(name))</text>\n"
            legendX += 120
        }
        for (index, panel) in panels.enumerated() {
            let originX = Double(index % columns) * panelWidth, originY = header + Double(index / columns) * panelHeight
            let plotX = originX + margin.left, plotY = originY + margin.top
            let plotW = panelWidth - margin.left - margin.right, plotH = panelHeight - margin.top - margin.bottom
            // A NaN metric (no prompts to average over) has no point on the plot.
            let drawn = panel.series.map { series in (series, series.points.filter { $0.x.isFinite && $0.y.isFinite }) }
            let xs = drawn.flatMap { $0.1.map(\.x) }, ys = drawn.flatMap { $0.1.map(\.y) }
            let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, xMin + 1)
            var yRange = panel.yRange ?? Self.niceRange(ys)
            if yRange.upperBound <= yRange.lowerBound { yRange = yRange.lowerBound...(yRange.lowerBound + 1) }
            func px(_ x: Double) -> Double { plotX + (x - xMin) / (xMax - xMin) * plotW }
            func py(_ y: Double) -> Double { plotY + plotH - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * plotH }
            // Centred on the panel, not the plot area: long titles then fit in the panel's width.
            svg += "<text x=\"\(originX + panelWidth / 2)\" y=\"\(originY + 22)\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(Self.escape(panel.title))</text>\n"
            // Grid and y ticks.
            for tick in Self.ticks(yRange, count: 5) {
                let y = py(tick)
                svg += "<line x1=\"\(plotX)\" y1=\"\(y)\" x2=\"\(plotX + plotW)\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>"
                svg += "<text x=\"\(plotX - 6)\" y=\"\(y + 4)\" text-anchor=\"end\" font-size=\"11\">\(Self.format(tick))</text>\n"
            }
            for tick in Self.ticks(xMin...xMax, count: 5) {
                let x = px(tick)
                svg += "<line x1=\"\(x)\" y1=\"\(plotY + plotH)\" x2=\"\(x)\" y2=\"\(plotY + plotH + 4)\" stroke=\"#333\"/>"
                svg += "<text x=\"\(x)\" y=\"\(plotY + plotH + 17)\" text-anchor=\"middle\" font-size=\"11\">\(Self.format(tick))</text>\n"
            }
            svg += "<rect x=\"\(plotX)\" y=\"\(plotY)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#333\"/>\n"
            svg += "<text x=\"\(plotX + plotW / 2)\" y=\"\(plotY + plotH + 34)\" text-anchor=\"middle\" font-size=\"12\">\(Self.escape(xLabel))</text>\n"
            svg += "<text transform=\"translate(\(originX + 16),\(plotY + plotH / 2)) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(Self.escape(panel.yLabel))</text>\n"
            for (series, points) in drawn {
                let color = Self.palette[(names.firstIndex(of: series.name) ?? 0) % Self.palette.count]
                let path = points.map { "\(Self.format2(px($0.x))),\(Self.format2(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.2\"/>\n"
                for point in points {
                    svg += "<circle cx=\"\(Self.format2(px(point.x)))\" cy=\"\(Self.format2(py(point.y)))\" r=\"3\" fill=\"\(color)\"/>"
                }
                svg += "\n"
            }
        }
        svg += "</svg>\n"
        return svg
    }

    /// A range around the data rounded outwards to tick steps.
    static func niceRange(_ values: [Double]) -> ClosedRange<Double> {
        guard let low = values.min(), let high = values.max() else { return 0...1 }
        if low == high { return (low - 1)...(high + 1) }
        let step = niceStep((high - low) / 4)
        return (floor(low / step) * step)...(ceil(high / step) * step)
    }

    static func niceStep(_ raw: Double) -> Double {
        let exponent = floor(log10(raw)), fraction = raw / pow(10, exponent)
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * pow(10, exponent)
    }

    static func ticks(_ range: ClosedRange<Double>, count: Int) -> [Double] {
        let step = niceStep((range.upperBound - range.lowerBound) / Double(max(count - 1, 1)))
        var tick = ceil(range.lowerBound / step) * step
        var result: [Double] = []
        while tick <= range.upperBound + step * 1e-9 {
            result.append(tick)
            tick += step
        }
        return result
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: "%.3g", value)
    }

    static func format2(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

// Horizontal stacked bar charts as inline SVG, drawn by tori (no script, no external
// asset). Positions come from integer cents by integer arithmetic (tenths of a pixel),
// so the same data draws the same bytes. Negative segments (credits) stack leftwards
// from the zero line. Thread-safe: pure function.
#ifndef TORI_SERVICES_DOCUMENTS_INTERNAL_SVG_CHART_H_
#define TORI_SERVICES_DOCUMENTS_INTERNAL_SVG_CHART_H_

#include <cstdint>
#include <string>
#include <vector>

#include "services/documents/documents.h"

namespace tori::documents::internal {

struct ChartBar {
  std::string label;
  std::vector<int64_t> segment_cents;  // one per series, in series order
};

struct StackedBarChart {
  std::string title;                // the SVG's accessible name
  std::vector<std::string> series;  // legend, in stacking order
  std::vector<ChartBar> bars;       // top to bottom
};

// At most this many bars and series are drawn; callers aggregate beyond.
inline constexpr size_t kChartBarsMax = 200;
inline constexpr size_t kChartSeriesMax = 64;

// <svg class="chart" ...>...</svg>; amounts in tooltips and labels in `language`.
std::string StackedBarChartSvg(const StackedBarChart& chart, Language language);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_SVG_CHART_H_

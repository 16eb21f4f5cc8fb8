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
  // What gives each series its colour (pool ids), same order as `series`; empty: the
  // legend texts themselves.
  std::vector<std::string> series_ids;
};

// At most this many bars and series are drawn; callers aggregate beyond.
inline constexpr size_t kChartBarsMax = 200;
inline constexpr size_t kChartSeriesMax = 64;

// The colour of a series (a pool) by its name, the same in every quarter and report:
// the pools SPEC names have fixed colours, others one from a fixed palette by a hash of
// the name; "…" (series merged beyond kChartSeriesMax) is grey. Okabe-Ito and Tol
// colours, distinguishable with the common colour-vision deficiencies.
std::string_view SeriesColour(std::string_view name);
// SeriesColour of each series; where two series of one chart would share a colour, the
// later one takes the next free palette colour (stable as long as the pools are).
std::vector<std::string_view> SeriesColours(const std::vector<std::string>& series);

// <svg class="chart" ...>...</svg>; amounts in tooltips and labels in `language`. Every
// text lies inside the viewBox: labels are shortened to fit their column, and an amount
// is written inside a segment only when it fits there.
std::string StackedBarChartSvg(const StackedBarChart& chart, Language language);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_SVG_CHART_H_

#include "services/documents/internal/svg_chart.h"

#include <algorithm>

#include "absl/numeric/int128.h"
#include "events/base/check.h"
#include "fmt/format.h"
#include "services/documents/internal/text.h"

namespace tori::documents::internal {
namespace {

// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
constexpr const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                    "#56B4E9", "#D55E00", "#F0E442", "#999999"};
constexpr int kWidth = 1000;
constexpr int kLabelWidth = 230;  // bar labels, left
constexpr int kValueWidth = 130;  // bar totals, right
constexpr int kPlotWidth = kWidth - kLabelWidth - kValueWidth - 20;
constexpr int kBarHeight = 28;
constexpr int kBarGap = 12;
constexpr int kTop = 10;
constexpr int kLegendRow = 24;
constexpr int kLegendItemWidth = 240;
constexpr int kInsideLabelMinTenths = 900;  // a segment this wide shows its amount

// Tenths of a pixel as SVG text: 1234 -> "123.4".
std::string Px(int64_t tenths) { return fmt::format("{}.{}", tenths / 10, tenths % 10); }

// Offset in tenths of a pixel of `cents` on a scale where `span_cents` is the plot width.
int64_t Offset(int64_t cents, int64_t span_cents) {
  const absl::int128 tenths = absl::int128(cents) * (kPlotWidth * 10) / span_cents;
  return static_cast<int64_t>(tenths);
}

}  // namespace

std::string StackedBarChartSvg(const StackedBarChart& chart, Language language) {
  TORI_CHECK(chart.bars.size() <= kChartBarsMax && chart.series.size() <= kChartSeriesMax);
  int64_t positive_max = 0, negative_max = 0;
  for (const ChartBar& bar : chart.bars) {
    TORI_CHECK(bar.segment_cents.size() == chart.series.size());
    int64_t positive = 0, negative = 0;
    for (int64_t cents : bar.segment_cents) (cents >= 0 ? positive : negative) += cents;
    positive_max = std::max(positive_max, positive);
    negative_max = std::max(negative_max, -negative);
  }
  const int64_t span_cents = std::max<int64_t>(positive_max + negative_max, 1);
  const int64_t zero_tenths = kLabelWidth * 10 + Offset(negative_max, span_cents);
  const int bars_height = static_cast<int>(chart.bars.size()) * (kBarHeight + kBarGap);
  const int per_legend_row = std::max(1, (kWidth - 20) / kLegendItemWidth);
  const int legend_rows =
      (static_cast<int>(chart.series.size()) + per_legend_row - 1) / per_legend_row;
  const int height = kTop + bars_height + 16 + legend_rows * kLegendRow + 8;

  std::string svg = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
      kWidth, height, kWidth, height, XmlEscape(chart.title));
  svg += fmt::format("<title>{}</title>\n", XmlEscape(chart.title));
  for (size_t b = 0; b < chart.bars.size(); ++b) {
    const ChartBar& bar = chart.bars[b];
    const int y = kTop + static_cast<int>(b) * (kBarHeight + kBarGap);
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"bar-label\">{}</text>\n",
        kLabelWidth - 8, y + kBarHeight / 2 + 5, XmlEscape(TruncateChars(bar.label, 32)));
    int64_t positive_cents = 0, negative_cents = 0, total_cents = 0;
    for (size_t s = 0; s < bar.segment_cents.size(); ++s) {
      const int64_t cents = bar.segment_cents[s];
      if (cents == 0) continue;
      total_cents += cents;
      int64_t& stacked = cents > 0 ? positive_cents : negative_cents;
      const int64_t from = zero_tenths + Offset(stacked, span_cents);
      stacked += cents;
      const int64_t to = zero_tenths + Offset(stacked, span_cents);
      const int64_t x = std::min(from, to), w = std::max<int64_t>(std::max(from, to) - x, 1);
      const std::string amount = MoneyText(cents, language);
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}"
          "</title></rect>\n",
          Px(x), y, Px(w), kBarHeight, kPalette[s % std::size(kPalette)],
          XmlEscape(chart.series[s]), amount);
      if (w >= kInsideLabelMinTenths) {
        svg += fmt::format(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"seg-label\">{}</text>\n",
            Px(x + w / 2), y + kBarHeight / 2 + 5, amount);
      }
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"bar-total\">{}</text>\n",
                       Px(zero_tenths + Offset(positive_cents, span_cents) + 60),
                       y + kBarHeight / 2 + 5, MoneyText(total_cents, language));
  }
  svg += fmt::format(
      "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#333\" stroke-width=\"1\"/>\n",
      Px(zero_tenths), kTop - 4, kTop + bars_height - kBarGap + 4);
  const int legend_top = kTop + bars_height + 16;
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const int x = 10 + static_cast<int>(s % static_cast<size_t>(per_legend_row)) * kLegendItemWidth;
    const int y =
        legend_top + static_cast<int>(s / static_cast<size_t>(per_legend_row)) * kLegendRow;
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{}\"/>"
        "<text x=\"{}\" y=\"{}\" class=\"legend\">{}</text>\n",
        x, y, kPalette[s % std::size(kPalette)], x + 20, y + 12,
        XmlEscape(TruncateChars(chart.series[s], 30)));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace tori::documents::internal

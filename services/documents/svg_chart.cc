#include "services/documents/internal/svg_chart.h"

#include <algorithm>

#include "absl/numeric/int128.h"
#include "events/base/check.h"
#include "fmt/format.h"
#include "services/documents/internal/text.h"

namespace tori::documents::internal {
namespace {

// Okabe-Ito without its yellow and grey (white labels must stay readable on them), then
// Paul Tol's muted colours. The first five are the pools SPEC names, in its order.
constexpr std::string_view kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                         "#D55E00", "#882255", "#117733", "#332288", "#44AA99",
                                         "#AA4499", "#6B5B00"};
constexpr std::string_view kFixedPools[] = {"premises", "shared_staff", "equipment",
                                            "shared_rooms", "mobile_service"};
constexpr std::string_view kMergedColour = "#999999";
constexpr int kWidth = 1000;
constexpr int kLabelWidth = 300;  // bar labels, left
constexpr int kValueWidth = 150;  // bar totals, right
constexpr int kPlotWidth = kWidth - kLabelWidth - kValueWidth - 20;
// Widest advance of a character of DejaVu Sans at 1 px, in thousandths (digits and most
// letters are 0.64 em or less; 'm' and 'W' are wider, so labels use a wider one).
constexpr int kDigitEmE3 = 640;
constexpr int kLetterEmE3 = 700;
constexpr int kLabelFontPx = 13;
constexpr int kSegmentFontPx = 12;
constexpr int kLegendFontPx = 13;
constexpr int kBarHeight = 28;
constexpr int kBarGap = 12;
constexpr int kTop = 10;
constexpr int kLegendRow = 24;
constexpr int kLegendItemWidth = 240;

// How many characters of `font_px` text fit in `width_px`.
size_t CharsThatFit(int width_px, int font_px) {
  return static_cast<size_t>(width_px * 1000 / (font_px * kLetterEmE3));
}
// Width in tenths of a pixel of `text` (numbers) at `font_px`, bold allowance included.
int64_t NumberWidthTenths(std::string_view text, int font_px) {
  return static_cast<int64_t>(CharCount(text)) * font_px * kDigitEmE3 * 11 / 1000;
}

uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

size_t PaletteIndex(std::string_view name) {
  for (size_t i = 0; i < std::size(kFixedPools); ++i) {
    if (kFixedPools[i] == name) return i;
  }
  return Fnv1a(name) % std::size(kPalette);
}

// `text` cut to `max_chars` characters, the last of them "…" when cut.
std::string Shorten(std::string_view text, size_t max_chars) {
  if (CharCount(text) <= max_chars) return std::string(text);
  return TruncateChars(text, max_chars - 1) + "…";
}

// Tenths of a pixel as SVG text: 1234 -> "123.4".
std::string Px(int64_t tenths) { return fmt::format("{}.{}", tenths / 10, tenths % 10); }

// Offset in tenths of a pixel of `cents` on a scale where `span_cents` is the plot width.
int64_t Offset(int64_t cents, int64_t span_cents) {
  const absl::int128 tenths = absl::int128(cents) * (kPlotWidth * 10) / span_cents;
  return static_cast<int64_t>(tenths);
}

}  // namespace

std::string_view SeriesColour(std::string_view name) {
  return name == "…" ? kMergedColour : kPalette[PaletteIndex(name)];
}

std::vector<std::string_view> SeriesColours(const std::vector<std::string>& series) {
  std::vector<std::string_view> colours;
  std::vector<bool> taken(std::size(kPalette), false);
  for (const std::string& name : series) {
    if (name == "…") {
      colours.push_back(kMergedColour);
      continue;
    }
    size_t index = PaletteIndex(name);
    // Bounded: a full palette lets the remaining series share colours.
    for (size_t probe = 0; probe < std::size(kPalette) && taken[index]; ++probe)
      index = (index + 1) % std::size(kPalette);
    taken[index] = true;
    colours.push_back(kPalette[index]);
  }
  return colours;
}

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

  TORI_CHECK(chart.series_ids.empty() || chart.series_ids.size() == chart.series.size());
  const std::vector<std::string_view> colours =
      SeriesColours(chart.series_ids.empty() ? chart.series : chart.series_ids);
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
        kLabelWidth - 8, y + kBarHeight / 2 + 5, XmlEscape(Shorten(bar.label, CharsThatFit(kLabelWidth - 16, kLabelFontPx))));
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
          Px(x), y, Px(w), kBarHeight, colours[s],
          XmlEscape(chart.series[s]), amount);
      if (w >= NumberWidthTenths(amount, kSegmentFontPx) + 80) {
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
        x, y, colours[s], x + 20, y + 12,
        XmlEscape(Shorten(chart.series[s], CharsThatFit(kLegendItemWidth - 30, kLegendFontPx))));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace tori::documents::internal

// Renders the HTML report in headless Chromium: the screenshot must show a real page
// with the charts' colours, and the rendered DOM must hold both charts and the totals.
// Chromium is required (Debian's chromium): without it this test fails.
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/documents/documents.h"
#include "services/documents/internal/text.h"
#include "services/documents/test_fixture.h"

namespace tori::documents {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::optional<std::string> FindChromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    if (fixture::HaveProgram(name)) return std::string(name);
  }
  return std::nullopt;
}

std::string ChromiumCommand(const std::string& chromium, const std::string& profile,
                            const std::string& action, const std::string& html) {
  return fmt::format(
      "timeout 180 {} --headless --no-sandbox --disable-gpu --disable-background-networking "
      "--disable-component-update --disable-sync --no-first-run --user-data-dir='{}' {} "
      "--window-size=1280,2000 'file://{}'",
      chromium, profile, action, html);
}

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint32_t> rgb;  // 0xRRGGBB per pixel
};

uint32_t BigEndian32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes).
std::optional<Image> DecodePng(const std::string& png) {
  if (png.size() < 33 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return std::nullopt;
  Image image;
  int channels = 0;
  std::string idat;
  for (size_t at = 8; at + 12 <= png.size();) {
    const uint32_t length = BigEndian32(png, at);
    const std::string type = png.substr(at + 4, 4);
    if (type == "IHDR") {
      image.width = BigEndian32(png, at + 8);
      image.height = BigEndian32(png, at + 12);
      const int depth = png[at + 16], color = png[at + 17], interlace = png[at + 20];
      if (depth != 8 || interlace != 0 || (color != 2 && color != 6)) return std::nullopt;
      channels = color == 6 ? 4 : 3;
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, length);
    }
    at += 12 + length;
  }
  const size_t stride = size_t(image.width) * size_t(channels);
  std::vector<uint8_t> raw((stride + 1) * image.height);
  uLongf raw_size = raw.size();
  if (channels == 0 ||
      uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      raw_size != raw.size()) {
    return std::nullopt;
  }
  std::vector<uint8_t> previous(stride, 0), line(stride);
  for (uint32_t y = 0; y < image.height; ++y) {
    const uint8_t* in = &raw[y * (stride + 1)];
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= size_t(channels) ? line[x - channels] : 0, b = previous[x];
      const int c = x >= size_t(channels) ? previous[x - channels] : 0;
      int predictor = 0;
      switch (in[0]) {
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          break;
      }
      line[x] = uint8_t(in[1 + x] + predictor);
    }
    for (size_t x = 0; x < stride; x += size_t(channels)) {
      image.rgb.push_back((uint32_t(line[x]) << 16) | (uint32_t(line[x + 1]) << 8) | line[x + 2]);
    }
    previous = line;
  }
  return image;
}

TEST(HtmlRenderTest, ChromiumRendersTheChartsAndTotals) {
  const auto chromium = FindChromium();
  ASSERT_TRUE(chromium) << "chromium is required to render the report: apt-get install chromium";
  const std::string dir = fixture::TempDir("render", /*keep=*/true);
  auto files = WriteDocuments(fixture::Result(), fixture::Context(), dir);
  ASSERT_TRUE(files.ok()) << files.status();
  const std::string html = dir + "/report-2026Q2.html";
  const std::string png = dir + "/report.png";

  const auto shot = fixture::Run(
      ChromiumCommand(*chromium, dir + "/profile-shot", "--screenshot='" + png + "'", html));
  ASSERT_TRUE(fs::exists(png)) << "no screenshot; chromium said:\n" << shot.output;
  EXPECT_GT(fs::file_size(png), 30'000u) << "a blank page compresses to a few KB";
  const auto image = DecodePng(fixture::ReadFile(png));
  ASSERT_TRUE(image) << "screenshot is not an 8-bit RGB(A) PNG";
  EXPECT_EQ(image->width, 1280u);
  EXPECT_EQ(image->height, 2000u);
  const std::set<uint32_t> colours(image->rgb.begin(), image->rgb.end());
  EXPECT_GT(colours.size(), 50u) << "the page is (nearly) one colour";
  // The first two series colours of the charts (svg_chart.cc) are on screen.
  EXPECT_TRUE(colours.count(0x0072B2)) << "no #0072B2 (first pool) in the screenshot";
  EXPECT_TRUE(colours.count(0xE69F00)) << "no #E69F00 (second pool) in the screenshot";

  auto dom = fixture::Run(ChromiumCommand(*chromium, dir + "/profile-dom", "--dump-dom", html));
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  // The serialized DOM writes U+00A0 (our digit grouping) as an entity.
  for (size_t at = dom.output.find("&nbsp;"); at != std::string::npos;
       at = dom.output.find("&nbsp;", at)) {
    dom.output.replace(at, 6, "\u00a0");
  }
  size_t charts = 0;
  for (size_t at = dom.output.find("<svg class=\"chart\""); at != std::string::npos;
       at = dom.output.find("<svg class=\"chart\"", at + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 2u);
  EXPECT_THAT(dom.output, HasSubstr("Virastojen osuudet kustannuspooleittain"));
  EXPECT_THAT(dom.output, HasSubstr(internal::MoneyText(13'100'000, Language::kFi)));  // costs
  EXPECT_THAT(dom.output, HasSubstr(internal::MoneyText(4'109'449, Language::kFi)));   // kela
  EXPECT_THAT(dom.output, HasSubstr("id=\"line-2026Q2-espoo-kela-6\""));
  std::cout << "screenshot: " << png << "\n";
}

}  // namespace
}  // namespace tori::documents

namespace tori::documents {
namespace {

// Checks, in the browser, that no element is wider than its box and that every chart
// text lies inside its SVG's viewBox; writes what overflows into body[data-overflow].
constexpr std::string_view kOverflowScript = R"js(<script>
(function () {
  var bad = [];
  document.querySelectorAll('body *').forEach(function (e) {
    if (e.closest('svg') || e.tagName === 'SCRIPT') return;
    if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
      bad.push(e.tagName + '#' + e.id + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth);
  });
  if (document.documentElement.scrollWidth > window.innerWidth)
    bad.push('page ' + document.documentElement.scrollWidth + '>' + window.innerWidth);
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var width = svg.viewBox.baseVal.width;
    svg.querySelectorAll('text').forEach(function (t) {
      var b = t.getBBox();
      if (b.x < 0 || b.x + b.width > width) bad.push('svg text "' + t.textContent + '" ' + b.x + '+' + b.width);
    });
  });
  document.body.setAttribute('data-overflow', bad.length ? bad.join(' | ') : 'none');
})();
</script>)js";

std::string OverflowsAt(const std::string& chromium, const std::string& dir,
                        const std::string& html, int width_px) {
  std::string page = fixture::ReadFile(html);
  page.insert(page.rfind("</body>"), kOverflowScript);
  const std::string probe = fmt::format("{}/probe-{}.html", dir, width_px);
  std::ofstream(probe) << page;
  const auto dom = fixture::Run(fmt::format(
      "timeout 180 {} --headless --no-sandbox --disable-gpu --disable-quic "
      "--disable-background-networking --disable-component-update --disable-sync --no-first-run "
      "--user-data-dir='{}/profile-probe-{}' --window-size={},1200 --dump-dom 'file://{}'",
      chromium, dir, width_px, width_px, probe));
  const size_t at = dom.output.find("data-overflow=\"");
  if (at == std::string::npos) return "no result: " + dom.output.substr(0, 2000);
  const size_t from = at + 15;
  return dom.output.substr(from, dom.output.find('"', from) - from);
}

// Issue 15.12: the report prints an A4 page of summary, a page per invoice and a page of
// the rest, in every language; nothing is wider than its box on paper-wide and wide
// screens, and chart texts stay inside the charts. The pages are kept as PNGs to look at.
TEST(HtmlRenderTest, PrintsAPagePerInvoiceAndNothingOverflowsInAnyLanguage) {
  const auto chromium = FindChromium();
  ASSERT_TRUE(chromium) << "chromium is required: apt-get install chromium";
  ASSERT_TRUE(fixture::HaveProgram("pdfinfo") && fixture::HaveProgram("pdftoppm"))
      << "poppler-utils is required (ops/setup installs it)";
  for (const Language language : {Language::kFi, Language::kSv, Language::kEn}) {
    const std::string code(LanguageCode(language));
    SCOPED_TRACE(code);
    const std::string dir = fixture::TempDir("print-" + code, /*keep=*/true);
    const engine::BillingResult result = fixture::Result();
    ASSERT_TRUE(WriteDocuments(result, fixture::Context(language), dir).ok());
    const std::string html = dir + "/report-2026Q2.html";
    const std::string pdf = dir + "/report.pdf";
    const auto print = fixture::Run(fmt::format(
        "timeout 180 {} --headless --no-sandbox --disable-gpu --disable-quic "
        "--disable-background-networking --disable-component-update --disable-sync "
        "--no-first-run --user-data-dir='{}/profile-pdf' --no-pdf-header-footer "
        "--print-to-pdf='{}' 'file://{}'",
        *chromium, dir, pdf, html));
    ASSERT_TRUE(fs::exists(pdf)) << print.output;
    const auto info = fixture::Run(fmt::format("pdfinfo '{}'", pdf));
    EXPECT_THAT(info.output, ::testing::ContainsRegex("Page size: +[0-9.]+ x [0-9.]+ pts \\(A4\\)"));
    // The summary, one page per invoice, the host's shares, claims, key values, warnings.
    EXPECT_THAT(info.output, HasSubstr(fmt::format("Pages:           {}\n", 1 + result.invoices.size() + 1)));
    EXPECT_EQ(fixture::Run(fmt::format("pdftoppm -png -r 80 '{}' '{}/page'", pdf, dir)).exit_code, 0);
    for (const int width_px : {700, 1280}) {
      EXPECT_EQ(OverflowsAt(*chromium, dir, html, width_px), "none") << width_px << " px wide";
    }
    std::cout << "pages: " << dir << "/page-*.png\n";
  }
}

}  // namespace
}  // namespace tori::documents

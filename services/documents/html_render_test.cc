// Renders the HTML report in headless Chromium: the screenshot must show a real page
// with the charts' colours, and the rendered DOM must hold both charts and the totals.
// Chromium is required (Debian's chromium): without it this test fails.
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
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

// The report's pages of SPEC section 9 (internal/section9_html.h). Colours: a single
// blue ramp for counts and utilisation (readable in grey too), the report's red for
// OVER_BUDGET. Every figure drawn is also printed as text beside or inside it.
#include <algorithm>
#include <map>
#include <set>

#include "fmt/format.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/section9_html.h"
#include "services/documents/internal/text.h"
#include "services/documents/internal/views.h"

namespace tori::documents::internal {
namespace {

std::string E(std::string_view text) { return XmlEscape(text); }

struct Words {
  std::string_view fi, sv, en;
  std::string_view In(Language l) const { return l == Language::kFi ? fi : l == Language::kSv ? sv : en; }
};

// A blue of lightness by share 0..1000 (per mille).
std::string Blue(int64_t per_mille) {
  per_mille = std::clamp<int64_t>(per_mille, 0, 1000);
  const int64_t r = 240 - per_mille * 200 / 1000, g = 244 - per_mille * 130 / 1000;
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, 255 - per_mille * 40 / 1000);
}

std::string ReferralMatrix(const engine::BillingResult& result, const DocumentContext& c) {
  std::map<std::string, std::vector<const engine::ReferralCount*>> by_point;
  for (const auto& r : result.referrals) by_point[r.service_point_id].push_back(&r);
  std::string out;
  for (const auto& [point, items] : by_point) {
    std::set<std::string> agencies;
    int64_t max = 1;
    for (const auto* r : items) {
      agencies.insert(r->from_agency_id);
      agencies.insert(r->to_agency_id);
      max = std::max(max, r->count);
    }
    const std::vector<std::string> list(agencies.begin(), agencies.end());
    const int cell = 44, label = 150, n = static_cast<int>(list.size());
    const int width = label + n * cell + 10, height = label + n * cell + 10;
    out += fmt::format("<h3>{}</h3>\n<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{}\" "
                       "viewBox=\"0 0 {} {}\" aria-label=\"{}\">\n",
                       E(PointName(c, point)), width, height, width, height,
                       E(Words{"Ohjausmatriisi", "Hänvisningsmatris", "Referral matrix"}.In(c.language)));
    for (int i = 0; i < n; ++i) {
      out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>\n",
                         label - 6, label + i * cell + cell / 2 + 4, E(TruncateChars(AgencyName(c, list[i]), 20)));
      out += fmt::format("<text transform=\"translate({},{}) rotate(-60)\" font-size=\"12\">{}</text>\n",
                         label + i * cell + cell / 2, label - 6, E(TruncateChars(AgencyName(c, list[i]), 20)));
    }
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        int64_t count = 0;
        for (const auto* r : items) {
          if (r->from_agency_id == list[i] && r->to_agency_id == list[j]) count = r->count;
        }
        out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"/>",
                           label + j * cell, label + i * cell, cell, cell,
                           i == j ? std::string("#eeeeee") : Blue(count * 1000 / max));
        if (count > 0) {
          out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{}\">{}</text>",
                             label + j * cell + cell / 2, label + i * cell + cell / 2 + 5,
                             count * 1000 / max > 600 ? "#fff" : "#000", count);
        }
        out += "\n";
      }
    }
    out += "</svg>\n";
  }
  return out;
}

std::string RoomMonths(const engine::BillingResult& result, const DocumentContext& c) {
  if (result.room_utilisation.empty()) return "";
  const int row = 24, label = 230, bar = 360;  // + 220 for the figures
  const int height = static_cast<int>(result.room_utilisation.size()) * row + 10;
  std::string out = fmt::format("<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" aria-label=\"{}\">\n",
                                label + bar + 220, height, label + bar + 220, height,
                                E(Words{"Käyttöaste kuukausittain", "Beläggning per månad", "Utilisation by month"}.In(c.language)));
  int y = 5;
  for (const auto& u : result.room_utilisation) {
    const int64_t per_mille = u.bookable_minutes > 0 ? u.booked_minutes * 1000 / u.bookable_minutes : 0;
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>", label - 6, y + 15,
                       E(fmt::format("{} · {} · {}", TruncateChars(u.service_point_id, 16), u.room_id, u.month)));
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#eeeeee\"/>", label, y + 3, bar, row - 6);
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#0072B2\"/>", label, y + 3,
                       std::min<int64_t>(bar, per_mille * bar / 1000), row - 6);
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\">{}.{} % ({} / {} min)</text>\n", label + bar + 6,
                       y + 15, per_mille / 10, per_mille % 10, u.booked_minutes, u.bookable_minutes);
    y += row;
  }
  return out + "</svg>\n";
}

std::string HeatMaps(const engine::BillingResult& result, const DocumentContext& c) {
  static constexpr Words kDays[7] = {{"ma", "mån", "Mon"}, {"ti", "tis", "Tue"}, {"ke", "ons", "Wed"},
                                     {"to", "tor", "Thu"}, {"pe", "fre", "Fri"}, {"la", "lör", "Sat"},
                                     {"su", "sön", "Sun"}};
  std::string out;
  const int cell = 22, left = 40, top = 20;
  for (const auto& heat : result.room_heat) {
    // Shades relative to the room's busiest hour (booked / bookable), so that a hall
    // used little still shows when it is used; each cell's title has the minutes.
    int64_t max_per_mille = 1;
    for (size_t i = 0; i < heat.booked_minutes.size(); ++i) {
      if (heat.bookable_minutes[i] > 0) {
        max_per_mille = std::max(max_per_mille, heat.booked_minutes[i] * 1000 / heat.bookable_minutes[i]);
      }
    }
    out += fmt::format("<h3>{} · {}</h3>\n<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" aria-label=\"{}\">\n",
                       E(PointName(c, heat.service_point_id)), E(heat.room_id), left + 24 * cell + 10,
                       top + 7 * cell + 10, left + 24 * cell + 10, top + 7 * cell + 10,
                       E(Words{"Varaukset viikonpäivän ja tunnin mukaan", "Bokningar per veckodag och timme",
                               "Bookings by weekday and hour"}.In(c.language)));
    for (int h = 0; h < 24; h += 2) {
      out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\">{:02d}</text>", left + h * cell + 4, top - 6, h);
    }
    for (int d = 0; d < 7; ++d) {
      out += fmt::format("<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text>", top + d * cell + 15, E(kDays[d].In(c.language)));
      for (int h = 0; h < 24; ++h) {
        const int64_t booked = heat.booked_minutes[d * 24 + h], bookable = heat.bookable_minutes[d * 24 + h];
        const std::string fill = bookable == 0 && booked == 0 ? "#f7f7f7"
                                 : bookable == 0              ? "#E69F00"  // booked outside the hours
                                                              : Blue(booked * 1000 / bookable * 1000 / max_per_mille);
        out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\"><title>{} {:02d}:00 {} / {} min</title></rect>",
                           left + h * cell, top + d * cell, cell, cell, fill, E(kDays[d].In(c.language)), h, booked, bookable);
      }
      out += "\n";
    }
    out += "</svg>\n";
  }
  return out;
}

std::string Budgets(const engine::BillingResult& result, const DocumentContext& c) {
  if (result.budgets.empty()) return "";
  const Language lang = c.language;
  int64_t max = 1;
  for (const auto& b : result.budgets) max = std::max({max, b.budget_cents, b.forecast_cents, b.year_to_date_cents});
  const int row = 30, label = 340, bar = 420;
  const int height = static_cast<int>(result.budgets.size()) * row + 30;
  std::string out = fmt::format("<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" aria-label=\"{}\">\n",
                                label + bar + 20, height, label + bar + 20, height,
                                E(Words{"Talousarviot", "Budgetar", "Budgets"}.In(lang)));
  out += fmt::format("<text x=\"{}\" y=\"14\" font-size=\"11\"><tspan fill=\"#0072B2\">■ {}</tspan>  <tspan fill=\"#56B4E9\">■ {}</tspan>  │ {}</text>\n",
                     label, E(Words{"toteutunut", "hittills", "year to date"}.In(lang)),
                     E(Words{"ennuste", "prognos", "forecast"}.In(lang)),
                     E(Words{"talousarvio", "budget", "budget"}.In(lang)));
  int y = 22;
  auto x = [&](int64_t cents) { return label + static_cast<int>(std::clamp<int64_t>(cents, 0, max) * bar / max); };
  for (const auto& b : result.budgets) {
    const bool over = b.forecast_cents > b.budget_cents;
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\"{}>{}</text>", label - 6, y + 18,
                       over ? " fill=\"#B00020\" font-weight=\"bold\"" : "",
                       E(fmt::format("{} · {} · {}", TruncateChars(AgencyName(c, b.agency_id), 18),
                                     TruncateChars(b.service_point_id, 16), b.pool)));
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"10\" fill=\"#56B4E9\"/>", label, y + 6, x(b.forecast_cents) - label);
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"10\" fill=\"#0072B2\"/>", label, y + 16, x(b.year_to_date_cents) - label);
    out += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"3\"><title>{4}</title></line>\n",
                       x(b.budget_cents), y + 2, y + 28, over ? "#B00020" : "#000", E(MoneyText(b.budget_cents, lang)));
    y += row;
  }
  out += "</svg>\n<table>\n<tr>";
  for (auto h : {Words{"Osapuoli", "Part", "Agency"}, Words{"Palvelupiste", "Serviceställe", "Service point"},
                 Words{"Pooli", "Pool", "Pool"}, Words{"Talousarvio", "Budget", "Budget"},
                 Words{"Toteutunut", "Hittills", "Year to date"}, Words{"Ennuste", "Prognos", "Forecast"}}) {
    out += fmt::format("<th>{}</th>", E(h.In(lang)));
  }
  out += "<th></th></tr>\n";
  for (const auto& b : result.budgets) {
    const bool over = b.forecast_cents > b.budget_cents;
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                       E(AgencyName(c, b.agency_id)), E(PointName(c, b.service_point_id)),
                       E(PoolName(c, b.service_point_id, b.pool)), E(MoneyText(b.budget_cents, lang)),
                       E(MoneyText(b.year_to_date_cents, lang)), E(MoneyText(b.forecast_cents, lang)),
                       over ? "<strong style=\"color:#B00020\">OVER_BUDGET</strong>" : "");
  }
  return out + "</table>\n";
}

}  // namespace

std::string Section9Html(const engine::BillingResult& result, const DocumentContext& context) {
  const Language lang = context.language;
  std::string out;
  if (!result.referrals.empty()) {
    out += fmt::format("<section id=\"referrals\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n{}</section>\n",
                       E(Words{"Asiakkaan ohjaukset", "Hänvisningar av kunder", "Referrals"}.In(lang)),
                       E(Words{"Rivit: ohjannut osapuoli, sarakkeet: vastaanottaja.",
                               "Rader: hänvisande part, kolumner: mottagare.",
                               "Rows: the agency that referred, columns: the agency referred to."}.In(lang)),
                       ReferralMatrix(result, context));
  }
  if (!result.room_utilisation.empty()) {
    out += fmt::format("<section id=\"room-utilisation\">\n<h2>{}</h2>\n{}{}</section>\n",
                       E(Words{"Tilojen käyttöaste", "Lokalernas beläggning", "Room utilisation"}.In(lang)),
                       RoomMonths(result, context), HeatMaps(result, context));
  }
  if (!result.budgets.empty()) {
    out += fmt::format("<section id=\"budgets\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n{}</section>\n",
                       E(Words{"Talousarviot ja ennuste", "Budgetar och prognos", "Budgets and forecast"}.In(lang)),
                       E(Words{"Ennuste = toteutunut × 4 / vuosineljänneksen numero.",
                               "Prognos = hittills × 4 / kvartalets nummer.",
                               "Forecast = year to date × 4 / the quarter's number in the year."}.In(lang)),
                       Budgets(result, context));
  }
  return out;
}

}  // namespace tori::documents::internal
